"""Pseudonymous reference types for the public schemas: pattern-checked by pydantic, then by the domain's
own PRIV-1 check (which also refuses things that look like national ID numbers)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from domain.values import check_ref

_LOOKS_LIKE_NATIONAL_ID = re.compile(r"\d{6}-?\d{4,5}$")
"""What ``domain.values.check_ref`` refuses in a token that has the right shape (``_NATIONAL_ID`` there)."""


def _ref(kind: str) -> object:
    token_start = len(kind) + 1

    def validate(value: str) -> str:
        # The pattern (checked first, in pydantic-core) has already accepted ``<kind>:<token>``: of the
        # domain's PRIV-1 check only the national-ID test is left. A token that fails it goes through the
        # domain's own check_ref, so the refusal (and its message) is the domain's.
        if _LOOKS_LIKE_NATIONAL_ID.match(value, token_start):
            return check_ref("ref", value, kind)
        return value

    return AfterValidator(validate)


_TOKEN = r"[A-Za-z0-9._-]{1,80}"
PersonRef = Annotated[str, StringConstraints(pattern=rf"^person:{_TOKEN}$"), _ref("person")]
OrgRef = Annotated[str, StringConstraints(pattern=rf"^org:{_TOKEN}$"), _ref("org")]
DocRef = Annotated[str, StringConstraints(pattern=rf"^doc:{_TOKEN}$"), _ref("doc")]
MunicipalityRef = Annotated[str, StringConstraints(pattern=rf"^muni:{_TOKEN}$"), _ref("muni")]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,100}$")]
"""Ids the caller chooses for things inside a case (request, team, plan, complaint): opaque tokens."""
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,64}$")]
"""Reason and type codes: snake_case vocabulary, never free text about a person."""
