"""What a *recorded* fact may hold: the value types of the published v1 event contracts (``contracts.events``).

These are the types v1 defined, kept as they were: the event store holds facts recorded under v1's grammar
(``person:jon.jonsson`` passed it) and under no grammar at all (a fact written around the API), and the relay and
a rebuild must map every stored fact to its contract, or they would stall on it. Within v1 a published type is
never narrowed (``contracts.events``: fields are only added). What new facts may hold is narrower: the command
contracts use the strict input grammar of :mod:`contracts.refs` (PRIV-1, :mod:`domain.privacy`) and the date
bounds of :mod:`contracts.bounds`, so a v2 fact always satisfies both.

The projections are written for this wider range (and tested over it, ``tests/integration/test_projections_total.py``),
so a fact that reaches them never stalls a read model.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

MAX_STORED_INT = 2**63 - 1
"""The event store's versions and notification ids are PostgreSQL ``bigint``: no stored fact has a larger one."""

_TOKEN = r"[A-Za-z0-9._-]{1,80}"
_V1_NATIONAL_ID = re.compile(r"\d{6}-?\d{4,5}")
"""v1's PRIV-1: a token that *is* a kennitala or fødselsnummer was refused (the input grammar now refuses more)."""


def _v1_ref(kind: str) -> AfterValidator:
    token_start = len(kind) + 1

    def validate(value: str) -> str:
        if _V1_NATIONAL_ID.fullmatch(value, token_start):
            raise ValueError("PRIV-1: looks like a national ID number; use a pseudonymous reference")
        return value

    return AfterValidator(validate)


PersonRef = Annotated[str, StringConstraints(pattern=rf"^person:{_TOKEN}$"), _v1_ref("person")]
OrgRef = Annotated[str, StringConstraints(pattern=rf"^org:{_TOKEN}$"), _v1_ref("org")]
DocRef = Annotated[str, StringConstraints(pattern=rf"^doc:{_TOKEN}$"), _v1_ref("doc")]
MunicipalityRef = Annotated[str, StringConstraints(pattern=rf"^muni:{_TOKEN}$"), _v1_ref("muni")]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,100}$")]
"""Ids the caller chose for things inside a case (request, team, plan, complaint): opaque tokens."""
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,64}$")]
"""Reason and type codes: snake_case vocabulary."""
StoredVersion = Annotated[int, Field(ge=1, le=MAX_STORED_INT)]
"""A version or notification id the event store assigned (or counted, for a plan's versions)."""
CalendarYear = Annotated[int, Field(ge=1, le=9999)]
"""A year of a recorded date (the birth year is derived from a stored date, so it is always one)."""
