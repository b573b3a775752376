"""The HTTP API: one POST endpoint per command of ``contracts.commands``, errors as RFC 9457 problems."""
