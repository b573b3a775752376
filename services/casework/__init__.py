"""The write side: the eventsourcing Application that runs commands against case aggregates."""
