"""The input grammar of every string a caller sends in a command: pseudonymous references, ids and codes.

Rule PRIV-1, as :mod:`domain.privacy` defines it (that module documents the grammar and the national-ID and name
shapes it refuses). Each type here runs the domain's own check, so a refusal names the field and says
``PRIV-1: …`` whether it comes from the contract or from the domain; the pattern is published in the OpenAPI
document for clients. The published event contracts keep v1's wider types (:mod:`contracts.recorded`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from domain import privacy
from domain.errors import InvalidValue


def _checked(check: Callable[[str, Any], str]) -> AfterValidator:
    def validate(value: str) -> str:
        try:
            return check("value", value)
        except InvalidValue as error:
            raise ValueError(error.rule) from None  # pydantic names the field; the rule is the domain's words

    return AfterValidator(validate)


def _ref(kind: str) -> Any:
    schema: dict[str, Any] = {"pattern": privacy.ref_pattern(kind),
                              "maxLength": len(kind) + 1 + privacy.MAX_TOKEN_LENGTH}
    return Annotated[str, Field(json_schema_extra=schema),
                     _checked(lambda field, value: privacy.check_ref(field, value, kind))]


PersonRef = _ref("person")
OrgRef = _ref("org")
DocRef = _ref("doc")
MunicipalityRef = _ref("muni")
Identifier = Annotated[str, Field(json_schema_extra={"pattern": rf"^(?:{privacy.IDENTIFIER}|{privacy.UUID_TEXT})$",
                                                     "maxLength": privacy.MAX_TOKEN_LENGTH}),
                       _checked(privacy.check_identifier)]
"""Ids the caller chooses for things inside a case (request, team, plan, complaint): opaque tokens."""
Code = Annotated[str, Field(json_schema_extra={"pattern": rf"^{privacy.CODE}$", "maxLength": privacy.MAX_TOKEN_LENGTH}),
                 _checked(privacy.check_code)]
"""Reason and type codes: snake_case vocabulary, never free text about a person."""


def correlation_id(value: str) -> str:
    """``X-Correlation-Id``: a UUID or a short opaque token (PRIV-1); raises :class:`InvalidValue` naming it."""
    return privacy.check_opaque_token("X-Correlation-Id", value)


def idempotency_key(value: str) -> str:
    """``Idempotency-Key``: a UUID or a short opaque token (PRIV-1); raises :class:`InvalidValue` naming it."""
    return privacy.check_opaque_token("Idempotency-Key", value)
