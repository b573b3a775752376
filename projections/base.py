"""What a read model is here: a pure function from one published event to the rows it changes.

A projection never opens a connection. ``apply`` gets the event (a ``contracts.events`` v1 model) and a
read-only view of its own tables inside the consumer's transaction, and returns the statements to run.
The consumer runtime (``services/consumers``) runs them in the same PostgreSQL transaction as its record of
what was processed, so each event has its effect exactly once, whichever replica handles it.

Tables are named without a schema: the runtime runs each projection in its own schema per *generation*
(``rm_<name>_g<n>``), which is what makes a rebuild into fresh tables, then a switch, possible while the old
generation keeps serving queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from contracts.events import EventEnvelopeV1


@dataclass(frozen=True)
class Statement:
    """One SQL statement (psycopg ``%s``/``%(name)s`` placeholders) and its parameters."""

    sql: str
    params: Sequence[Any] | dict[str, Any] = field(default_factory=tuple)


class ReadView(Protocol):
    """Read access to the projection's own tables, inside the transaction the event is applied in."""

    def fetchone(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> tuple[Any, ...] | None: ...

    def fetchall(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]: ...

    def remembered(self, case_id: Any) -> dict[str, Any]:
        """What the projection noted about ``case_id`` while applying the case's earlier facts *in this same
        transaction*, for it to note more in; empty at a transaction's start, and again whenever the runtime
        applied something of the case another way (a parked successor, a retry).

        Why: a consumer applies a whole batch, and a rebuild a whole page, in one pipelined transaction; a read
        (``fetchone``) in the middle of it waits for every statement before it to reach the server and come back.
        A projection that reads what it itself wrote a fact earlier (the previous link of a hash chain, a case's
        parties) may keep that here instead, and read only what this transaction has not written yet. What it
        keeps must be exactly what its statements wrote: an empty memory is always correct, only slower."""
        ...


class Projection(Protocol):
    name: ClassVar[str]
    """Durable consumer name, and the prefix of the projection's schemas (``dashboard``)."""
    version: ClassVar[int]
    """Bumped whenever tables or logic change; a new version is built by a rebuild, then switched to."""
    ddl: ClassVar[tuple[str, ...]]
    """``CREATE TABLE`` / ``CREATE INDEX`` statements for the projection's tables (unqualified names)."""

    def apply(self, event: EventEnvelopeV1, view: ReadView) -> Sequence[Statement]:
        """The statements that bring the read model up to date with ``event`` (may be empty)."""
        ...
