"""Integration tests: real PostgreSQL and NATS from the root fixtures; marked ``integration`` there.

Fixtures needed only by integration tests belong here.
"""
