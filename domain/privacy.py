"""PRIV-1: the grammar of every string a caller supplies: references, ids, codes and request tokens.

Rule PRIV-1 (domain.md §2.1, §8.3.1): no national ID number, name, e-mail address or free text about a person
enters an event, a subject, a header or a log. Persons, organisations, documents and municipalities appear as
pseudonymous references; everything else a caller names (a request, a plan, a complaint, a reason) is an opaque
id or a vocabulary code. The grammar below is strict enough to refuse the shapes such data takes when it is
pasted into a field by mistake or on purpose, and it is the one source for the domain's checks, the command
contracts (``contracts.refs``) and the HTTP headers:

* **reference** ``<kind>:<token>``, kind one of ``person org doc muni``; the token is 1-64 characters of lower-case
  letters and digits in groups joined by single ``-`` or ``_`` (``person:p-17``, ``org:rvk-school-3``,
  ``doc:plan-1``, ``person:case_manager-1``), or a canonical lower-case UUID. Refused: dots and ``@`` (the shape
  of ``jon.jonsson`` and e-mail addresses), spaces, capitals (``Jon``), leading, trailing or doubled
  punctuation (``doc:..``, ``person:-x``);
* **identifier** (``request_id``, ``service_id``, ``plan_id``, ``external_ref`` …): 1-64 letters and digits in
  groups joined by single ``-``, ``_`` or ``:`` (``GEV-2026-17``, ``req-1``), or a canonical UUID;
* **code** (reasons, types, decisions): snake_case vocabulary, 1-64 characters, starting with a letter
  (``multi_level_l2_l3_long_term``);
* **opaque token** (``X-Correlation-Id``, ``Idempotency-Key``): a UUID, or an identifier.

Every kind is refused when it contains a **national-ID shape** anywhere: six digits, then (after at most one
``-`` or ``_``) four more: ``\\d{6}[-_]?\\d{4}``. Iceland's kennitala (``010203-1234``, ``0102031234``), Norway's
fødselsnummer and D-number (``01020312345``) and Sweden's personnummer (``20010203-1234``) all have it, wherever
they are embedded (``kt-010203-1234``, ``ola-01020312345``). A UUID is exempt: it is opaque by construction,
though its hex groups may happen to contain such a digit run.

What no grammar can refuse: a name written as an ordinary token (``jon-jonsson``), or an ID number deliberately
encoded (spelled out, hex). Those are the caller's breach of PRIV-1, not something the system can tell apart
from an opaque id; the vault is where identity belongs (domain.md §8.3.1).
"""

from __future__ import annotations

import re

from domain.errors import InvalidValue

REF_KINDS = ("person", "org", "doc", "muni")
MAX_TOKEN_LENGTH = 64
TOKEN = r"[a-z0-9]+(?:[-_][a-z0-9]+)*"
IDENTIFIER = r"[A-Za-z0-9]+(?:[-_:][A-Za-z0-9]+)*"
CODE = r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*"
UUID_TEXT = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
NATIONAL_ID_SHAPE = re.compile(r"\d{6}[-_]?\d{4}")
"""Kennitala, fødselsnummer, D-number, personnummer: six date digits, an optional separator, four or more digits."""

_TOKEN = re.compile(TOKEN)
_IDENTIFIER = re.compile(IDENTIFIER)
_CODE = re.compile(CODE)
_UUID = re.compile(UUID_TEXT)
_LOWER_UUID = re.compile(UUID_TEXT.replace("A-F", ""))


def ref_pattern(kind: str) -> str:
    """The regular expression a reference of ``kind`` matches (published in the OpenAPI document)."""
    return rf"^{kind}:(?:{TOKEN}|{_LOWER_UUID.pattern})$"


def _refuse(field: str, rule: str) -> InvalidValue:
    return InvalidValue(field, f"PRIV-1: {rule}")


def _bounded_text(field: str, value: object, what: str, example: str) -> str:
    if not isinstance(value, str):
        raise _refuse(field, f"must be {what} such as '{example}'")
    if not 1 <= len(value) <= MAX_TOKEN_LENGTH:
        raise _refuse(field, f"must be {what} of 1 to {MAX_TOKEN_LENGTH} characters such as '{example}'")
    return value


def _refuse_national_id_shape(field: str, text: str) -> None:
    if NATIONAL_ID_SHAPE.search(text):
        raise _refuse(field, "contains the shape of a national ID number (six digits and four more); "
                             "use a pseudonymous reference, never the number")


def check_ref(field: str, value: object, kind: str) -> str:
    """A pseudonymous reference of ``kind`` (``person:p-17``), or :class:`InvalidValue` naming the field."""
    example = f"{kind}:abc-123"
    if not isinstance(value, str) or not value.startswith(f"{kind}:"):
        raise _refuse(field, f"must be a pseudonymous reference like '{example}'")
    token = value[len(kind) + 1:]
    _bounded_text(field, token, f"a reference '{kind}:<token>' with a token", example)
    if _LOWER_UUID.fullmatch(token):
        return value
    if not _TOKEN.fullmatch(token):
        raise _refuse(field, f"must be '{kind}:' and lower-case letters and digits joined by single '-' or '_' "
                             f"(no dots, spaces, capitals or leading, trailing or doubled punctuation), like "
                             f"'{example}'")
    _refuse_national_id_shape(field, token)
    return value


def check_identifier(field: str, value: object) -> str:
    """An opaque id the caller chose for something inside a case (a request, a plan, a complaint)."""
    text = _bounded_text(field, value, "an opaque id", "req-1")
    if _UUID.fullmatch(text):
        return text
    if not _IDENTIFIER.fullmatch(text):
        raise _refuse(field, "must be letters and digits joined by single '-', '_' or ':' (no dots, spaces or "
                             "other punctuation), like 'req-1', or a UUID")
    _refuse_national_id_shape(field, text)
    return text


def check_code(field: str, value: object) -> str:
    """A vocabulary code (snake_case, starting with a letter): never free text about a person."""
    text = _bounded_text(field, value, "a snake_case code", "case_worker")
    if not _CODE.fullmatch(text):
        raise _refuse(field, "must be a snake_case code: lower-case letters and digits joined by single '_', "
                             "starting with a letter, like 'case_worker'")
    _refuse_national_id_shape(field, text)
    return text


def check_opaque_token(field: str, value: object) -> str:
    """A request token a caller sends in a header (``X-Correlation-Id``, ``Idempotency-Key``): a UUID or an
    opaque id; it is stored with facts and published in NATS headers, so PRIV-1 holds for it too."""
    return check_identifier(field, value)
