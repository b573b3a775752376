"""The coordinator directory (DIR-1, DIR-2) and the values every fact is made of: pseudonymous references
only (PRIV-1), timezone-aware moments, and well-formed case data."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from domain.case_iceland import IcelandStatus
from domain.directory import Institution
from domain.errors import InvalidValue
from domain.values import (
    Actor,
    ComplainantCapacity,
    ComplaintSubject,
    Context,
    InstitutionType,
    Jurisdiction,
    MemberType,
    Role,
    TeamMember,
    check_ref,
)
from tests.unit.domain.builders import (
    COORDINATOR,
    IS_MOTHER,
    IS_PARENTS,
    MUNICIPALITY_LEAD,
    NEW_COORDINATOR,
    REYKJAVIK,
    SCHOOL_ORG,
    ctx,
    designated_institution,
    event_names,
    iceland_case,
    refused,
    register_contact,
    rejected_as_invalid,
    request_barnekoordinator,
)


# ---- the coordinator directory (DIR-1, DIR-2) ------------------------------------------------------------
def test_an_institution_designates_its_coordinators_on_the_record() -> None:
    school = designated_institution()

    assert school.is_designated(COORDINATOR.person_ref)
    assert school.id == Institution.create_id(SCHOOL_ORG)
    assert event_names(school) == ["Registered", "CoordinatorDesignated"]


def test_a_coordinator_is_designated_only_once() -> None:
    school = designated_institution()

    with refused(school, "DIR-1"):
        school.designate_coordinator(ctx(MUNICIPALITY_LEAD, 1), COORDINATOR.person_ref)


def test_only_a_designated_coordinator_stops_being_one() -> None:
    school = designated_institution()

    with refused(school, "DIR-2"):
        school.withdraw_designation(ctx(MUNICIPALITY_LEAD, 1), NEW_COORDINATOR.person_ref)

    school.withdraw_designation(ctx(MUNICIPALITY_LEAD, 1), COORDINATOR.person_ref)
    assert not school.is_designated(COORDINATOR.person_ref)
    with refused(school, "DIR-2"):
        school.withdraw_designation(ctx(MUNICIPALITY_LEAD, 2), COORDINATOR.person_ref)


@pytest.mark.parametrize(("field", "org_ref", "municipality_ref"), [
    ("org_ref", "Menntaskólinn við Hamrahlíð", REYKJAVIK),
    ("municipality_ref", SCHOOL_ORG, "Reykjavík"),
])
def test_an_institution_is_registered_under_references(field: str, org_ref: str, municipality_ref: str) -> None:
    with rejected_as_invalid(None, field, "PRIV-1"):
        Institution.register(ctx(MUNICIPALITY_LEAD), org_ref=org_ref,
                             institution_type=InstitutionType.SECONDARY_SCHOOL,
                             municipality_ref=municipality_ref, jurisdiction=Jurisdiction.ICELAND)


def test_a_coordinator_is_designated_by_reference_not_by_e_mail() -> None:
    school = designated_institution()

    with rejected_as_invalid(school, "person_ref", "PRIV-1"):
        school.designate_coordinator(ctx(MUNICIPALITY_LEAD, 1), "person:coordinator@school.is")


# ---- PRIV-1: no personal identifiers in facts --------------------------------------------------------------
@pytest.mark.parametrize("value", [
    "person:120345-6789",  # Icelandic kennitala
    "person:1203456789",  # kennitala without the hyphen
    "person:12034567890",  # Norwegian fødselsnummer
    "Jón Jónsson",  # a name
    "person:Jón Jónsson",  # a name smuggled in as the token
    "jon@example.is",  # an e-mail address
    "person:jon@example.is",
    "org:p-17",  # a reference of the wrong kind
    "",
])
def test_a_person_is_referred_to_only_by_a_pseudonymous_reference(value: str) -> None:
    with pytest.raises(InvalidValue) as error:
        check_ref("child_ref", value, "person")
    assert error.value.field == "child_ref"
    assert error.value.rule.startswith("PRIV-1")


@pytest.mark.parametrize("value", [1203456789, None, ("person:p-17",)])
def test_a_reference_is_a_string_never_a_bare_number_or_other_value(value: object) -> None:
    with rejected_as_invalid(None, "child_ref", "PRIV-1"):
        check_ref("child_ref", value, "person")  # type: ignore[arg-type]


def test_a_pseudonymous_reference_is_accepted() -> None:
    assert check_ref("child_ref", "person:p-17", "person") == "person:p-17"


def test_a_case_is_not_opened_under_a_childs_national_id_number() -> None:
    with rejected_as_invalid(None, "child_ref", "PRIV-1"):
        register_contact(child_ref="person:120345-6789")


def test_a_case_is_not_opened_under_a_parents_name() -> None:
    with rejected_as_invalid(None, "parent_refs[1]", "PRIV-1"):
        register_contact(parent_refs=(IS_MOTHER, "Guðrún Jónsdóttir"))


def test_a_norwegian_request_is_not_recorded_under_a_fodselsnummer() -> None:
    with rejected_as_invalid(None, "child_ref", "PRIV-1"):
        request_barnekoordinator(child_ref="person:12034567890")


def test_an_information_sharing_request_names_its_provider_by_reference() -> None:
    case = iceland_case(IcelandStatus.CONTACT)

    with rejected_as_invalid(case, "source_provider_org_refs[0]", "PRIV-1"):
        case.sign_information_sharing_request(ctx(COORDINATOR, 1), request_id="share-1", signatory_refs=IS_PARENTS,
                                              source_provider_org_refs=("BUP Landspítali",),
                                              target_refs=(COORDINATOR.person_ref,), form_doc_ref="doc:form-1")


def test_a_complainant_is_recorded_by_reference_not_by_e_mail() -> None:
    case = iceland_case(IcelandStatus.PLAN_ACTIVE)

    with rejected_as_invalid(case, "complainant_ref", "PRIV-1"):
        case.record_complaint(ctx(COORDINATOR, 100), complaint_id="gev-1", complainant_ref="mother@example.is",
                              complainant_capacity=ComplainantCapacity.USER,
                              subject=ComplaintSubject.SERVICE_QUALITY)


def test_an_actor_and_a_team_member_are_references() -> None:
    with rejected_as_invalid(None, "actor.person_ref", "PRIV-1"):
        Actor("person:120345-6789", Role.COORDINATOR)
    with rejected_as_invalid(None, "actor.org_ref", "PRIV-1"):
        Actor(COORDINATOR.person_ref, Role.COORDINATOR, "Hagaskóli")
    with rejected_as_invalid(None, "member.org_ref", "PRIV-1"):
        TeamMember(COORDINATOR.person_ref, "BUP", MemberType.COORDINATOR)


# ---- other malformed values ---------------------------------------------------------------------------------
def test_a_fact_happens_at_a_timezone_aware_moment() -> None:
    with rejected_as_invalid(None, "occurred_at"):
        Context(actor=COORDINATOR, occurred_at=datetime(2026, 3, 2, 9, 0))


def test_a_childs_birth_date_is_not_in_the_future() -> None:
    with rejected_as_invalid(None, "birth_date"):
        register_contact(birth_date=date(2027, 1, 1))
    with rejected_as_invalid(None, "birth_date"):
        request_barnekoordinator(birth_date=date(2027, 1, 1))


def test_an_episode_is_numbered_from_1() -> None:
    with rejected_as_invalid(None, "episode"):
        register_contact(episode=0)
    with rejected_as_invalid(None, "episode"):
        request_barnekoordinator(episode=0)


def test_a_second_episode_of_the_same_child_is_a_different_case() -> None:
    first, second = register_contact(), register_contact(episode=2)

    assert first.id != second.id
