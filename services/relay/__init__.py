"""``services/relay``: publishes the event store's notification log to the JetStream stream ``CASES``."""
