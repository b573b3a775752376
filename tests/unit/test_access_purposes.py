"""ACCESS-PURPOSE, the pure rule: a purpose is stated only by the relationships that may state it, and no one who may
read personal data is left without a purpose to read it for."""

from __future__ import annotations

import pytest

from domain.access import MAY_READ, PERSONAL_DATA_READS, VAULT, ReadKind, VaultAction
from domain.access.purposes import FOR_READ, STATED_BY, Purpose, PurposeNotAllowed, check_purpose, purposes_of
from domain.access.relations import Relation


@pytest.mark.parametrize("purpose", list(Purpose))
@pytest.mark.parametrize("relation", list(Relation))
def test_a_purpose_is_granted_exactly_to_the_relationships_that_may_state_it(purpose: Purpose,
                                                                              relation: Relation) -> None:
    if relation in STATED_BY[purpose]:
        check_purpose(purpose, frozenset({relation}), "the case read")
        return
    with pytest.raises(PurposeNotAllowed) as refused:
        check_purpose(purpose, frozenset({relation}), "the case read")
    assert refused.value.rule_id == "ACCESS-PURPOSE" and refused.value.field == "X-Purpose"
    assert purpose.value in refused.value.reason and refused.value.allowed == purposes_of({relation})


def test_everyone_who_may_read_personal_data_has_a_purpose_to_read_it_for() -> None:
    rules = [MAY_READ[kind] for kind in PERSONAL_DATA_READS]
    rules += [VAULT[VaultAction.READ_PERSONAL_DATA], VAULT[VaultAction.READ_DOCUMENT]]
    readers = {relation for rule in rules for relation in rule.may}
    assert {relation for relation in readers if not purposes_of({relation})} == set()


def test_the_family_reads_about_itself_and_not_as_staff_or_supervisor() -> None:
    assert purposes_of({Relation.PARENT}) == ["complaint", "own_case"]
    assert purposes_of({Relation.SUPERVISOR}) == ["supervision", "complaint", "oversight"]
    assert "own_case" not in purposes_of({Relation.COORDINATOR, Relation.DOMICILE_LEAD})


@pytest.mark.parametrize(("kind", "purpose"), [
    (ReadKind.DASHBOARD, Purpose.OVERSIGHT), (ReadKind.DASHBOARD_ROWS, Purpose.OVERSIGHT),
    (ReadKind.NATIONAL, Purpose.OVERSIGHT), (ReadKind.STATUS_REPORT, Purpose.OVERSIGHT),
    (ReadKind.AUDIT, Purpose.SUPERVISION), (ReadKind.READ_LOG, Purpose.SUPERVISION),
    (ReadKind.EXPORT_LOG, Purpose.SUPERVISION), (ReadKind.CASELOAD, Purpose.CASEWORK),
], ids=lambda value: str(value))
def test_a_purpose_the_system_states_for_a_read_is_one_every_reader_of_it_may_state(kind: ReadKind,
                                                                                    purpose: Purpose) -> None:
    """The routes and pages that state a read's purpose themselves (a dashboard's default, the read log, the caseload
    page) must not lock out any relationship the read's rule admits."""
    assert MAY_READ[kind].may <= STATED_BY[purpose] and purpose in FOR_READ[kind]


@pytest.mark.parametrize("kind", list(FOR_READ), ids=str)
def test_every_reader_of_a_personal_data_read_has_a_purpose_that_suits_it(kind: ReadKind) -> None:
    assert {r for r in MAY_READ[kind].may if not purposes_of({r}, kind)} == set()


def test_one_cases_data_is_never_read_for_oversight_nor_a_dashboard_for_casework() -> None:
    with pytest.raises(PurposeNotAllowed) as refused:
        check_purpose(Purpose.OVERSIGHT, frozenset({Relation.DOMICILE_LEAD}), "the case read", kind=ReadKind.CASE)
    assert refused.value.allowed == ["casework", "complaint"]
    with pytest.raises(PurposeNotAllowed):
        check_purpose(Purpose.CASEWORK, frozenset({Relation.DOMICILE_LEAD}), "the dashboard read",
                      kind=ReadKind.DASHBOARD)
