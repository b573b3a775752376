"""Runnable services (CLI, relay, consumers) and the infrastructure glue they share."""
