"""The consumer runtime shared by every read model: JetStream in, one PostgreSQL transaction per event."""
