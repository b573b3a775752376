"""NATS subjects of the published events, the JetStream stream that holds them, and filters for subscribers.

Scheme (documented for agencies in ``docs/events.md``)::

    cases.v1.<jurisdiction>.<municipality>.<event_type>        every case fact
    directory.v1.<jurisdiction>.<municipality>.<event_type>    the coordinator directory

* ``<jurisdiction>`` is ``is`` or ``no``;
* ``<municipality>`` is the municipality reference without ``muni:``, with every character other than
  ``A-Z a-z 0-9 _ -`` replaced by ``_`` (NATS forbids ``.``, ``*``, ``>`` and whitespace in a token);
* ``<event_type>`` is the contract's ``event_type`` (``support_team_concluded``).

A case's facts follow its municipality: from ``domicile_changed`` on they are published under the new one.
The version is in the subject, so a future v2 can be published beside v1 and subscribed to separately.
"""

from __future__ import annotations

import re

from contracts.events import DIRECTORY_EVENT_TYPES, EVENT_MODELS

STREAM_NAME = "CASES"
STREAM_SUBJECTS = ["cases.v1.>", "directory.v1.>"]
"""What the stream ``CASES`` captures: the published facts, and nothing else. It is declared in one place only
(``services.bus.provision``, run with the bus's ``admin`` identity); every other service binds to it with
``JStream(STREAM_NAME, declare=False)`` (tech-notes §5.2 a)."""
DEADLETTER_STREAM_NAME = "DEADLETTERS"
DEADLETTER_SUBJECTS = ["deadletter.>"]
"""Dead letters have a stream of their own: ``deadletter.<consumer>.<event_type>`` (``malformed`` when the payload
names none), each a :class:`contracts.deadletters.DeadLetterV1` (never a second copy of an event): a subscriber to
``cases.>`` never sees one, and nothing in ``CASES`` carries an event id twice."""
CASES_PREFIX = "cases.v1"
DIRECTORY_PREFIX = "directory.v1"
ALL_CASE_EVENTS = "cases.v1.>"
ALL_DIRECTORY_EVENTS = "directory.v1.>"
_NOT_TOKEN_SAFE = re.compile(r"[^A-Za-z0-9_-]")
_JURISDICTIONS = frozenset({"is", "no"})


def deadletter_subject(consumer: str, event_type: str | None) -> str:
    """``deadletter.dashboard.support_plan_evaluated``: where a consumer sets a message aside."""
    return f"deadletter.{_NOT_TOKEN_SAFE.sub('_', consumer)}.{_NOT_TOKEN_SAFE.sub('_', event_type or 'malformed')}"


def jurisdiction_token(jurisdiction: str) -> str:
    token = jurisdiction.lower()
    if token not in _JURISDICTIONS:
        raise ValueError(f"Unknown jurisdiction {jurisdiction!r}; expected IS or NO.")
    return token


def municipality_token(municipality_ref: str) -> str:
    """``muni:reykjavik`` → ``reykjavik``; characters NATS forbids in a token become ``_``."""
    if not municipality_ref.startswith("muni:") or len(municipality_ref) == len("muni:"):
        raise ValueError(f"Not a municipality reference: {municipality_ref!r} (expected 'muni:<token>').")
    return _NOT_TOKEN_SAFE.sub("_", municipality_ref.removeprefix("muni:"))


def _prefix(event_type: str) -> str:
    if event_type not in EVENT_MODELS:
        raise ValueError(f"Unknown event type {event_type!r}.")
    return DIRECTORY_PREFIX if event_type in DIRECTORY_EVENT_TYPES else CASES_PREFIX


def subject_for(event_type: str, jurisdiction: str | None, municipality_ref: str) -> str:
    """The subject a fact is published on: ``cases.v1.is.reykjavik.support_team_concluded``."""
    if jurisdiction is None:
        raise ValueError(f"A {event_type} event needs a jurisdiction for its subject.")
    return ".".join((_prefix(event_type), jurisdiction_token(jurisdiction), municipality_token(municipality_ref),
                     event_type))


# ---- filters for subscribers -------------------------------------------------------------------------------
def municipality_filter(jurisdiction: str, municipality_ref: str) -> str:
    """Every case fact of one municipality: ``cases.v1.is.reykjavik.>``."""
    return f"{CASES_PREFIX}.{jurisdiction_token(jurisdiction)}.{municipality_token(municipality_ref)}.>"


def jurisdiction_filter(jurisdiction: str) -> str:
    """Every case fact under one law: ``cases.v1.no.>``."""
    return f"{CASES_PREFIX}.{jurisdiction_token(jurisdiction)}.>"


def event_type_filter(event_type: str, jurisdiction: str | None = None) -> str:
    """One event type everywhere (``cases.v1.*.*.complaint_lodged``), or under one law
    (``cases.v1.is.*.complaint_lodged``); directory types give ``directory.v1.*.*.<type>``."""
    where = "*" if jurisdiction is None else jurisdiction_token(jurisdiction)
    return f"{_prefix(event_type)}.{where}.*.{event_type}"


def directory_filter(jurisdiction: str | None = None, municipality_ref: str | None = None) -> str:
    """The coordinator directory, everywhere or narrowed: ``directory.v1.is.reykjavik.>``."""
    if jurisdiction is None:
        if municipality_ref is not None:
            return f"{DIRECTORY_PREFIX}.*.{municipality_token(municipality_ref)}.>"
        return ALL_DIRECTORY_EVENTS
    if municipality_ref is None:
        return f"{DIRECTORY_PREFIX}.{jurisdiction_token(jurisdiction)}.>"
    return f"{DIRECTORY_PREFIX}.{jurisdiction_token(jurisdiction)}.{municipality_token(municipality_ref)}.>"


def subject_matches(filter_subject: str, subject: str) -> bool:
    """NATS wildcard matching (``*`` one token, ``>`` one or more trailing tokens), for tests and tools."""
    pattern, tokens = filter_subject.split("."), subject.split(".")
    for index, part in enumerate(pattern):
        if part == ">":
            return len(tokens) > index
        if index >= len(tokens) or (part != "*" and part != tokens[index]):
            return False
    return len(tokens) == len(pattern)
