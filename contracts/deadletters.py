"""Dead letters v1: what a consumer publishes on ``deadletter.<consumer>.<event_type>`` (stream ``DEADLETTERS``).

A dead letter is a report *about* a message, never a copy of it: it has no ``event_id`` field of its own, so no
subscriber can take it for a second copy of a fact. The message's bytes travel base64-encoded in
``payload_base64``, exactly as received. Kinds:

* ``malformed``: the payload is not a v1 contract (nothing can be applied; the message is terminated);
* ``mismatch``: the payload does not match how it was published (its ``Nats-Msg-Id`` is not
  ``Casework:<notification id>``, its ``event_id`` not ``<case id>:<version>``, or its subject not the payload's):
  a forgery or a corruption, terminated without being applied (and without holding back the real fact's case);
* ``quarantined``: a fact the read model could not apply; the case is degraded in that read model until an
  operator retries or resolves it (``prosperity deadletters``), and its later versions wait for it.

Error texts name fields and rules, never the values received (a malformed payload may carry anything).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

DeadLetterKind = Literal["malformed", "mismatch", "quarantined"]


class DeadLetterV1(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    dead_letter_id: str
    """``<consumer>:<event id>`` (or ``<consumer>:<stream>:<sequence>`` for a message without one): also the
    dead letter's ``Nats-Msg-Id``, so a redelivered message is dead-lettered once."""
    kind: DeadLetterKind
    consumer: str
    """The durable consumer (read model) that set it aside."""
    error: str
    original_subject: str | None
    original_msg_id: str | None
    case_id: UUID | None
    case_version: int | None
    notification_id: int | None
    event_type: str | None
    dead_lettered_at: datetime
    payload_base64: str
