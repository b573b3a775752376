"""Where a piece of code should publish in JetStream: server, stream and subject namespace.

Why: tests (and parallel deployments) share one NATS server; giving each owner its own stream and
subject prefix keeps their messages apart without separate servers or accounts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class JsTarget:
    """A JetStream stream that captures every subject under ``subject_prefix``."""

    url: str
    stream: str
    subject_prefix: str

    @property
    def subjects(self) -> list[str]:
        """The stream's subject filter: everything below the prefix."""
        return [f"{self.subject_prefix}.>"]

    def subject(self, *tokens: str) -> str:
        """A concrete subject inside this target, e.g. ``subject("cases", "opened")``."""
        return ".".join((self.subject_prefix, *tokens))
