"""PRIV-1's grammar (``domain.privacy``), against national-ID and name shapes, drawn by hypothesis.

A kennitala, fødselsnummer, D-number or personnummer is refused wherever it is embedded in a reference, an id, a
code or a request token; dotted, spaced, capitalised and e-mail names are refused in references; the references,
ids and codes the system itself uses pass. The command contracts (``contracts.refs``) refuse exactly what the
domain refuses, with the domain's words.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from contracts import refs
from domain import privacy
from domain.errors import InvalidValue

DAYS = st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31))
KENNITALA = st.tuples(DAYS, st.integers(0, 99), st.integers(0, 9), st.sampled_from(["9", "0"]), st.booleans()).map(
    lambda p: f"{p[0]:%d%m%y}{'-' if p[4] else ''}{p[1]:02d}{p[2]}{p[3]}")
"""DDMMYY, an optional hyphen, two random digits, a check digit and the century digit (9 or 0)."""
FODSELSNUMMER = st.tuples(DAYS, st.integers(0, 99999), st.booleans()).map(
    lambda p: f"{p[0].day + (40 if p[2] else 0):02d}{p[0]:%m%y}{p[1]:05d}")
"""DDMMYY (a D-number adds 40 to the day) and five digits."""
PERSONNUMMER = st.tuples(DAYS, st.integers(0, 9999)).map(lambda p: f"{p[0]:%Y%m%d}-{p[1]:04d}")
NATIONAL_ID = st.one_of(KENNITALA, FODSELSNUMMER, PERSONNUMMER)
SAFE_WORD = st.from_regex(r"[a-z][a-z]{0,8}", fullmatch=True)
NAME = st.from_regex(r"[A-Za-zÁÐÉÍÓÚÝÞÆÖáðéíóúýþæöøå]{2,10}", fullmatch=True)
KINDS = st.sampled_from(privacy.REF_KINDS)


def refused_by_priv_1(check: object, *args: object) -> str:
    with pytest.raises(InvalidValue) as refusal:
        check(*args)  # type: ignore[operator]
    assert refusal.value.rule.startswith("PRIV-1"), refusal.value.rule
    return refusal.value.rule


@given(kind=KINDS, before=SAFE_WORD, national_id=NATIONAL_ID, after=st.one_of(st.just(""), SAFE_WORD))
def test_a_national_id_embedded_in_a_reference_is_refused(kind: str, before: str, national_id: str,
                                                          after: str) -> None:
    for token in (national_id, f"{before}-{national_id}", f"{before}-{national_id}-{after}".rstrip("-"),
                  f"{before}_{national_id}"):
        refused_by_priv_1(privacy.check_ref, "ref", f"{kind}:{token}", kind)


@given(before=SAFE_WORD, national_id=NATIONAL_ID)
def test_a_national_id_in_an_identifier_code_or_request_token_is_refused(before: str, national_id: str) -> None:
    for text in (national_id, f"{before}-{national_id}", f"{before.upper()}:{national_id}"):
        refused_by_priv_1(privacy.check_identifier, "id", text)
        refused_by_priv_1(privacy.check_opaque_token, "X-Correlation-Id", text)
    refused_by_priv_1(privacy.check_code, "code", f"{before}_{national_id.replace('-', '_')}")


@given(kind=KINDS, first=NAME, last=NAME)
def test_name_shaped_references_are_refused(kind: str, first: str, last: str) -> None:
    for token in (f"{first}.{last}", f"{first} {last}", f"{first.lower()}.{last.lower()}", f"{first}@{last}.is",
                  f"{first.capitalize()}", f".{first.lower()}", f"{first.lower()}-", f"{first.lower()}--x", ".."):
        refused_by_priv_1(privacy.check_ref, "ref", f"{kind}:{token}", kind)


@given(kind=KINDS, token=st.from_regex(r"[a-z0-9]{1,8}(?:[-_][a-z0-9]{1,8}){0,3}", fullmatch=True))
def test_tokens_of_the_grammar_pass_unless_they_carry_a_national_id_shape(kind: str, token: str) -> None:
    shaped = privacy.NATIONAL_ID_SHAPE.search(token) is not None
    try:
        privacy.check_ref("ref", f"{kind}:{token}", kind)
    except InvalidValue:
        assert shaped
    else:
        assert not shaped


@pytest.mark.parametrize("ref", ["person:p-17", "org:rvk-school-3", "doc:plan-1", "muni:reykjavik",
                                 "person:case_manager-1", "person:system", "doc:scan-20240108",
                                 "person:3f2b8c1e-0d4a-4b7e-9a52-123456781234"])
def test_the_references_the_system_uses_pass(ref: str) -> None:
    assert privacy.check_ref("ref", ref, ref.split(":")[0]) == ref


@pytest.mark.parametrize("text", ["req-1", "GEV-2026-17", "request-person:parent-is-1", "svc-1", "plan-1",
                                  "12345678-1234-4234-8234-123456789012", "walkthrough-is-person:child-is-abc"])
def test_the_ids_the_system_uses_pass_and_a_uuid_is_exempt_from_the_digit_rule(text: str) -> None:
    assert privacy.check_identifier("id", text) == text


@pytest.mark.parametrize("text", ["", "x" * 65, "a b", "a..b", "a.b", "-a", "a-", "a--b", "jón", "a/b"])
def test_identifiers_outside_the_grammar_are_refused(text: str) -> None:
    refused_by_priv_1(privacy.check_identifier, "id", text)


@pytest.mark.parametrize("text", ["Case_worker", "1st", "case-worker", "case__worker", "_x", "x_"])
def test_codes_outside_snake_case_are_refused(text: str) -> None:
    refused_by_priv_1(privacy.check_code, "code", text)


@given(value=st.one_of(st.text(max_size=20), NATIONAL_ID.map(lambda n: f"person:{n}"),
                       st.from_regex(r"person:[a-z0-9._ -]{1,12}", fullmatch=True)))
def test_the_contract_types_refuse_exactly_what_the_domain_refuses(value: str) -> None:
    try:
        expected: str | None = privacy.check_ref("ref", value, "person")
    except InvalidValue as error:
        expected, rule = None, error.rule
    if expected is not None:
        assert TypeAdapter(refs.PersonRef).validate_python(value) == value
    else:
        with pytest.raises(ValidationError) as refusal:
            TypeAdapter(refs.PersonRef).validate_python(value)
        assert rule in refusal.value.errors()[0]["msg"]
