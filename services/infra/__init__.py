"""Infrastructure helpers: real PostgreSQL/NATS servers and the settings that point code at them.

Kept apart from ``domain`` so that domain code never imports I/O concerns.
"""
