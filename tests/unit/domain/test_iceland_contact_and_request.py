"""Iceland, rows 1-8 of domain.md §2.3: first contact, information sharing, the written request for
integration (the basis of all processing, IS-G0), its withdrawal, and the coordinator."""

from __future__ import annotations

from datetime import date

import pytest

from domain.case_iceland import IcelandCase, IcelandStatus
from domain.legal_settings import LegalSettings
from domain.life_stage import SchoolStatus
from domain.values import FamilyMember, InstitutionType, LifeStage, OfferResponse, ViewsMethod
from tests.unit.domain.builders import (
    BUP_ORG,
    CASE_MANAGER,
    COORDINATOR,
    HEALTH_CENTRE_ORG,
    IS_18TH_BIRTHDAY,
    IS_CHILD,
    IS_FATHER,
    IS_MOTHER,
    IS_PARENTS,
    NEW_COORDINATOR,
    OTHER_SCHOOL_ORG,
    PRIMARY_SCHOOL_ORG,
    PROVIDER_REP,
    SCHOOL_ORG,
    SETTINGS,
    ctx,
    designated_institution,
    event_names,
    iceland_case,
    last_event,
    refused,
    register_contact,
    request_integration,
)

S = IcelandStatus


def sign_sharing_request(case: IcelandCase, request_id: str = "share-1", source: str = BUP_ORG,
                         target: str = COORDINATOR.person_ref) -> None:
    case.sign_information_sharing_request(ctx(COORDINATOR, 1), request_id=request_id, signatory_refs=IS_PARENTS,
                                          source_provider_org_refs=(source,), target_refs=(target,),
                                          form_doc_ref="doc:sharing-form-1")


def close_by_majority(case: IcelandCase) -> None:
    case.record_majority(ctx(COORDINATOR, on=IS_18TH_BIRTHDAY), settings=SETTINGS)
    assert case.status is S.CLOSED


# ---- row 1: first contact ----------------------------------------------------------------------------
def test_first_contact_opens_the_case_with_the_coordinator_of_the_childs_institution() -> None:
    case = register_contact()

    assert case.status is S.CONTACT
    assert case.coordinator_ref == COORDINATOR.person_ref
    assert case.coordinator_org_ref == SCHOOL_ORG
    assert event_names(case) == ["ContactRegistered"]


def test_an_infant_is_served_by_the_coordinator_of_a_health_centre() -> None:
    health_centre = designated_institution(HEALTH_CENTRE_ORG, InstitutionType.HEALTH_CENTRE)

    case = register_contact(birth_date=date(2025, 9, 1), life_stage=LifeStage.INFANT,
                            coordinator_institution=health_centre)

    assert case.coordinator_org_ref == HEALTH_CENTRE_ORG


def test_coordinator_must_work_at_the_institution_serving_the_childs_life_stage() -> None:
    primary_school = designated_institution(PRIMARY_SCHOOL_ORG, InstitutionType.PRIMARY_SCHOOL)

    with refused(None, "IS-R1"):
        register_contact(coordinator_institution=primary_school, life_stage=LifeStage.SECONDARY)


def test_a_sixteen_year_old_is_refused_an_infant_health_centre_coordinator() -> None:
    """LIFE-1: the life stage follows from the birth date; the caller cannot make a 16-year-old an infant."""
    health_centre = designated_institution(HEALTH_CENTRE_ORG, InstitutionType.HEALTH_CENTRE)

    with refused(None, "LIFE-1"):
        register_contact(coordinator_institution=health_centre, life_stage=LifeStage.INFANT)


def test_a_school_the_age_rules_out_is_refused_on_contact() -> None:
    with refused(None, "LIFE-2"):
        register_contact(school_status=SchoolStatus.PRESCHOOL)


def test_a_sixteen_year_old_in_no_school_is_served_by_social_services() -> None:
    social = designated_institution("org:social-rvk", InstitutionType.SOCIAL_SERVICES)

    case = register_contact(coordinator_institution=social, life_stage=LifeStage.SOCIAL_SERVICES,
                            school_status=SchoolStatus.NONE)

    assert case.life_stage is LifeStage.SOCIAL_SERVICES
    with refused(None, "LIFE-1"):
        register_contact(school_status=SchoolStatus.NONE)  # secondary school's coordinator, but in no school


def test_coordinator_must_be_designated_by_the_institution() -> None:
    school_without_designations = designated_institution(coordinators=())

    with refused(None, "IS-R1"):
        register_contact(coordinator_institution=school_without_designations)


def test_a_withdrawn_designation_no_longer_qualifies_the_coordinator() -> None:
    school = designated_institution()
    school.withdraw_designation(ctx(CASE_MANAGER), COORDINATOR.person_ref)

    with refused(None, "IS-R1"):
        register_contact(coordinator_institution=school)


def test_coordinator_must_declare_no_conflict_of_interest_with_the_family() -> None:
    with refused(None, "IS-INV-5"):
        register_contact(conflict_of_interest_declared_none=False)


def test_the_act_serves_only_children_under_18() -> None:
    with refused(None, "IS-R28"):
        register_contact(birth_date=date(2008, 3, 1))


# ---- row 2: a provider's guidance ----------------------------------------------------------------------
def test_a_providers_guidance_may_be_recorded_before_any_request() -> None:
    case = register_contact()

    case.record_integration_guidance(ctx(PROVIDER_REP), provider_org_ref=BUP_ORG,
                                     provider_person_ref=PROVIDER_REP.person_ref, given_to=FamilyMember.PARENT)

    assert event_names(case)[-1] == "IntegrationGuidanceGiven"


def test_guidance_is_not_recorded_on_a_closed_case() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)
    close_by_majority(case)

    with refused(case, "IS-SM"):
        case.record_integration_guidance(ctx(PROVIDER_REP), provider_org_ref=BUP_ORG,
                                         provider_person_ref=PROVIDER_REP.person_ref, given_to=FamilyMember.PARENT)


# ---- rows 3-4: information sharing (IS-R3, IS-INV-4) -------------------------------------------------
def test_information_sharing_request_authorises_one_provider_to_send_to_one_coordinator() -> None:
    case = register_contact()

    sign_sharing_request(case)

    assert case.sharing_requests == {"share-1": (BUP_ORG, COORDINATOR.person_ref)}


def test_information_sharing_request_names_exactly_one_source_provider() -> None:
    case = register_contact()

    with refused(case, "IS-R3"):
        case.sign_information_sharing_request(ctx(COORDINATOR), request_id="share-1", signatory_refs=IS_PARENTS,
                                              source_provider_org_refs=(BUP_ORG, SCHOOL_ORG),
                                              target_refs=(COORDINATOR.person_ref,), form_doc_ref="doc:form-1")


def test_information_sharing_request_names_exactly_one_recipient() -> None:
    case = register_contact()

    with refused(case, "IS-R3"):
        case.sign_information_sharing_request(ctx(COORDINATOR), request_id="share-1", signatory_refs=IS_PARENTS,
                                              source_provider_org_refs=(BUP_ORG,),
                                              target_refs=(COORDINATOR.person_ref, CASE_MANAGER.person_ref),
                                              form_doc_ref="doc:form-1")


@pytest.mark.parametrize("signatories", [(), (COORDINATOR.person_ref,), (IS_MOTHER, PROVIDER_REP.person_ref)])
def test_only_the_parents_or_the_child_sign_an_information_sharing_request(signatories: tuple[str, ...]) -> None:
    case = register_contact()

    with refused(case, "IS-R3"):
        case.sign_information_sharing_request(ctx(COORDINATOR), request_id="share-1", signatory_refs=signatories,
                                              source_provider_org_refs=(BUP_ORG,),
                                              target_refs=(COORDINATOR.person_ref,), form_doc_ref="doc:form-1")


def test_an_information_sharing_request_is_signed_only_once() -> None:
    case = register_contact()
    sign_sharing_request(case)

    with refused(case, "IS-R3"):
        sign_sharing_request(case, source=SCHOOL_ORG)


def test_information_sharing_request_is_not_signed_on_a_closed_case() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)
    close_by_majority(case)

    with refused(case, "IS-SM"):
        sign_sharing_request(case)


def test_information_is_shared_along_the_pair_the_family_authorised() -> None:
    case = register_contact()
    sign_sharing_request(case)

    case.share_information_with_coordinator(ctx(PROVIDER_REP, 2), request_id="share-1", source_provider_org_ref=BUP_ORG,
                                            recipient_ref=COORDINATOR.person_ref, summary_doc_ref="doc:summary-1")

    assert case.informed_recipients == [COORDINATOR.person_ref]


@pytest.mark.parametrize(
    ("request_id", "source", "recipient"),
    [
        ("share-1", SCHOOL_ORG, COORDINATOR.person_ref),  # another provider
        ("share-1", BUP_ORG, CASE_MANAGER.person_ref),  # another recipient
        ("share-unknown", BUP_ORG, COORDINATOR.person_ref),  # no such request
    ],
)
def test_information_is_shared_only_for_the_exact_provider_and_recipient_of_an_active_request(
        request_id: str, source: str, recipient: str) -> None:
    case = register_contact()
    sign_sharing_request(case)

    with refused(case, "IS-INV-4"):
        case.share_information_with_coordinator(ctx(PROVIDER_REP, 2), request_id=request_id,
                                                source_provider_org_ref=source, recipient_ref=recipient,
                                                summary_doc_ref="doc:summary-1")


def test_information_is_not_shared_once_the_family_withdrew_its_request() -> None:
    case = register_contact()
    sign_sharing_request(case)
    request_integration(case)
    case.withdraw_integration_request(ctx(COORDINATOR, 5), request_id="req-1", withdrawn_by_ref=IS_MOTHER)

    with refused(case, "IS-SM"):
        case.share_information_with_coordinator(ctx(PROVIDER_REP, 6), request_id="share-1",
                                                source_provider_org_ref=BUP_ORG,
                                                recipient_ref=COORDINATOR.person_ref, summary_doc_ref="doc:summary-1")
    assert case.sharing_requests == {}


# ---- row 5: contact with the family (IS-R5) --------------------------------------------------------
def test_the_coordinator_offers_integration_to_the_family() -> None:
    case = register_contact()

    case.record_contact_with_family(ctx(COORDINATOR, 1), offered_to=(FamilyMember.PARENT,),
                                    contact_refs=IS_PARENTS, response=OfferResponse.ACCEPTED)

    assert event_names(case)[-1] == "IntegrationOffered"


def test_after_receiving_information_the_coordinator_contacts_only_the_parents_or_the_child() -> None:
    case = register_contact()

    with refused(case, "IS-R5"):
        case.record_contact_with_family(ctx(COORDINATOR, 1), offered_to=(FamilyMember.PARENT,),
                                        contact_refs=(IS_MOTHER, "person:is-teacher-9"),
                                        response=OfferResponse.UNDECIDED)


def test_contact_with_the_family_names_whom_integration_was_offered_to() -> None:
    case = register_contact()

    with refused(case, "IS-R5"):
        case.record_contact_with_family(ctx(COORDINATOR, 1), offered_to=(), contact_refs=(IS_MOTHER,),
                                        response=OfferResponse.UNDECIDED)


def test_contact_with_the_family_is_not_recorded_on_a_closed_case() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)
    close_by_majority(case)

    with refused(case, "IS-SM"):
        case.record_contact_with_family(ctx(COORDINATOR), offered_to=(FamilyMember.PARENT,),
                                        contact_refs=(IS_MOTHER,), response=OfferResponse.ACCEPTED)


# ---- row 6: the written request for integration (IS-R6, IS-R6b) ------------------------------------
def request(case: IcelandCase, *, written: bool = True, roles: tuple[FamilyMember, ...] = (FamilyMember.PARENT,),
            by: tuple[str, ...] = IS_PARENTS, settings: LegalSettings = SETTINGS) -> None:
    case.record_integration_request(ctx(COORDINATOR, 2), request_id="req-1", requested_by_refs=by,
                                    requester_roles=roles, written=written, form_doc_ref="doc:request-form-1",
                                    settings=settings)


def test_the_parents_written_request_starts_coordinator_led_integration() -> None:
    case = register_contact()

    request(case)

    assert case.status is S.INTEGRATION_ACTIVE_L1
    assert case.request_active


def test_integration_request_must_be_written() -> None:
    case = register_contact()

    with refused(case, "IS-R6"):
        request(case, written=False)


def test_integration_request_needs_at_least_one_requester() -> None:
    case = register_contact()

    with refused(case, "IS-R6"):
        request(case, roles=())


def test_integration_request_is_made_by_the_childs_parents_or_the_child() -> None:
    case = register_contact()

    with refused(case, "IS-R6"):
        request(case, by=(COORDINATOR.person_ref,))


def test_a_request_by_the_child_alone_is_blocked_until_the_age_rule_has_legal_review() -> None:
    case = register_contact()

    with refused(case, "IS-R6b"):
        request(case, roles=(FamilyMember.CHILD,), by=(IS_CHILD,))


def test_a_municipality_with_legal_review_may_accept_the_childs_own_request() -> None:
    case = register_contact()

    request(case, roles=(FamilyMember.CHILD,), by=(IS_CHILD,),
            settings=LegalSettings(child_may_request_integration_alone=True))

    assert case.status is S.INTEGRATION_ACTIVE_L1


def test_integration_is_requested_only_once_per_episode() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)

    with refused(case, "IS-SM"):
        request(case)


# ---- IS-G0: no processing without an active request -------------------------------------------------
def test_no_initial_assessment_is_arranged_without_an_active_request() -> None:
    case = register_contact()

    with refused(case, "IS-G0"):
        case.arrange_initial_assessment(ctx(COORDINATOR, 1), assessor_org_ref=BUP_ORG, planned_date=date(2026, 4, 1))


def test_no_childs_views_are_recorded_without_an_active_request() -> None:
    case = register_contact()

    with refused(case, "IS-G0"):
        case.record_child_views(ctx(COORDINATOR, 1), method=ViewsMethod.CONVERSATION, summary_doc_ref="doc:views-1")


def test_no_processing_after_the_family_withdrew_its_request() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)
    case.withdraw_integration_request(ctx(COORDINATOR, 5), request_id="req-1", withdrawn_by_ref=IS_FATHER)

    with refused(case, "IS-G0"):
        case.arrange_initial_assessment(ctx(COORDINATOR, 6), assessor_org_ref=BUP_ORG, planned_date=date(2026, 4, 1))


def test_with_an_active_request_the_coordinator_arranges_an_initial_assessment_and_hears_the_child() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)

    case.arrange_initial_assessment(ctx(COORDINATOR, 3), assessor_org_ref=BUP_ORG, planned_date=date(2026, 4, 1))
    case.record_child_views(ctx(COORDINATOR, 4), method=ViewsMethod.DRAWING, summary_doc_ref="doc:views-1")

    assert event_names(case)[-2:] == ["InitialAssessmentArranged", "ChildViewsRecorded"]


# ---- row 7: withdrawal of the request ----------------------------------------------------------------
def test_withdrawal_stops_processing_and_notifies_the_professionals_on_the_team() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)

    case.withdraw_integration_request(ctx(COORDINATOR, 40), request_id="req-1", withdrawn_by_ref=IS_MOTHER)

    assert case.status is S.WITHDRAWN
    assert event_names(case)[-2:] == ["IntegrationRequestWithdrawn", "ProcessingStopped"]
    notified = last_event(case, "ProcessingStopped").notified_member_refs
    assert set(notified) == {PROVIDER_REP.person_ref, COORDINATOR.person_ref, CASE_MANAGER.person_ref}


def test_withdrawal_needs_an_active_request() -> None:
    case = register_contact()

    with refused(case, "IS-G0"):
        case.withdraw_integration_request(ctx(COORDINATOR, 1), request_id="req-1", withdrawn_by_ref=IS_MOTHER)


def test_withdrawal_names_the_request_that_is_active() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)

    with refused(case, "IS-G0"):
        case.withdraw_integration_request(ctx(COORDINATOR, 5), request_id="req-other", withdrawn_by_ref=IS_MOTHER)


def test_a_request_is_withdrawn_only_once() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)
    case.withdraw_integration_request(ctx(COORDINATOR, 5), request_id="req-1", withdrawn_by_ref=IS_MOTHER)

    with refused(case, "IS-G0"):
        case.withdraw_integration_request(ctx(COORDINATOR, 6), request_id="req-1", withdrawn_by_ref=IS_MOTHER)


def test_only_the_family_that_made_the_request_can_withdraw_it() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)

    with refused(case, "IS-R7"):
        case.withdraw_integration_request(ctx(COORDINATOR, 5), request_id="req-1",
                                          withdrawn_by_ref=COORDINATOR.person_ref)


def test_a_request_cannot_be_withdrawn_once_the_case_has_closed() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)
    close_by_majority(case)

    with refused(case, "IS-SM"):
        case.withdraw_integration_request(ctx(COORDINATOR, 500), request_id="req-1", withdrawn_by_ref=IS_MOTHER)


# ---- row 8: changing the coordinator (IS-R1, IS-INV-5) -------------------------------------------------
def test_the_coordinator_follows_the_child_to_a_new_institution() -> None:
    other_school = designated_institution(OTHER_SCHOOL_ORG, coordinators=(NEW_COORDINATOR.person_ref,))
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)

    case.change_coordinator(ctx(COORDINATOR, 60), coordinator_ref=NEW_COORDINATOR.person_ref,
                            institution=other_school, life_stage_basis=LifeStage.SECONDARY,
                            conflict_of_interest_declared_none=True, handover_note_doc_ref="doc:handover-1")

    assert (case.coordinator_ref, case.coordinator_org_ref) == (NEW_COORDINATOR.person_ref, OTHER_SCHOOL_ORG)


def test_a_new_coordinator_is_refused_for_a_life_stage_the_childs_age_rules_out() -> None:
    """LIFE-1 on a change: the stage cited is judged against the birth date on the record, on the day."""
    health_centre = designated_institution(HEALTH_CENTRE_ORG, InstitutionType.HEALTH_CENTRE,
                                           coordinators=(NEW_COORDINATOR.person_ref,))
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)

    with refused(case, "LIFE-1"):
        case.change_coordinator(ctx(COORDINATOR, 60), coordinator_ref=NEW_COORDINATOR.person_ref,
                                institution=health_centre, life_stage_basis=LifeStage.INFANT,
                                conflict_of_interest_declared_none=True)


def test_a_new_coordinator_must_serve_the_childs_life_stage() -> None:
    primary_school = designated_institution(PRIMARY_SCHOOL_ORG, InstitutionType.PRIMARY_SCHOOL,
                                            coordinators=(NEW_COORDINATOR.person_ref,))
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)

    with refused(case, "IS-R1"):
        case.change_coordinator(ctx(COORDINATOR, 60), coordinator_ref=NEW_COORDINATOR.person_ref,
                                institution=primary_school, life_stage_basis=LifeStage.SECONDARY,
                                conflict_of_interest_declared_none=True)


def test_a_new_coordinator_must_be_designated_by_the_institution() -> None:
    other_school = designated_institution(OTHER_SCHOOL_ORG, coordinators=())
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)

    with refused(case, "IS-R1"):
        case.change_coordinator(ctx(COORDINATOR, 60), coordinator_ref=NEW_COORDINATOR.person_ref,
                                institution=other_school, life_stage_basis=LifeStage.SECONDARY,
                                conflict_of_interest_declared_none=True)


def test_a_new_coordinator_must_declare_no_conflict_of_interest() -> None:
    other_school = designated_institution(OTHER_SCHOOL_ORG, coordinators=(NEW_COORDINATOR.person_ref,))
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)

    with refused(case, "IS-INV-5"):
        case.change_coordinator(ctx(COORDINATOR, 60), coordinator_ref=NEW_COORDINATOR.person_ref,
                                institution=other_school, life_stage_basis=LifeStage.SECONDARY,
                                conflict_of_interest_declared_none=False)


def test_the_coordinator_of_a_closed_case_is_not_changed() -> None:
    other_school = designated_institution(OTHER_SCHOOL_ORG, coordinators=(NEW_COORDINATOR.person_ref,))
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)
    close_by_majority(case)

    with refused(case, "IS-SM"):
        case.change_coordinator(ctx(COORDINATOR, 500), coordinator_ref=NEW_COORDINATOR.person_ref,
                                institution=other_school, life_stage_basis=LifeStage.SECONDARY,
                                conflict_of_interest_declared_none=True)
