"""Iceland, rows 14-22 of domain.md §2.3: the support team the case manager establishes and leads, its
members and meetings, the five-element support plan with its evaluations and versions, and the adult
transition plan before 18."""

from __future__ import annotations

from datetime import date

import pytest

from domain.case_iceland import IcelandCase, IcelandStatus
from domain.legal_settings import LegalSettings
from domain.values import (
    Actor,
    AdultServiceHandover,
    EvaluationOutcome,
    MemberType,
    TeamMember,
    TeamOutcome,
)
from tests.unit.domain.builders import (
    BUP_ORG,
    CASE_MANAGER,
    COORDINATOR,
    GENERAL_REP,
    IS_18TH_BIRTHDAY,
    IS_CHILD,
    IS_FATHER,
    IS_MOTHER,
    IS_PARENTS,
    OTHER_CASE_MANAGER,
    PROVIDER_REP,
    SCHOOL_ORG,
    SETTINGS,
    SPORTS_CLUB_ORG,
    TEAM_MEMBERS,
    adopt_plan,
    appoint_case_manager,
    ctx,
    establish_team,
    event_names,
    iceland_case,
    last_event,
    notify_need_for_case_manager,
    plan_content,
    refused,
    register_contact,
    rejected_as_invalid,
    request_integration,
)

S = IcelandStatus
HANDOVER = (AdultServiceHandover("org:reykjavik-adult-disability-services", "case_worker"),)


def close_by_majority(case: IcelandCase) -> None:
    case.record_majority(ctx(COORDINATOR, on=IS_18TH_BIRTHDAY), settings=SETTINGS)


def withdraw(case: IcelandCase, days: int = 40) -> None:
    case.withdraw_integration_request(ctx(COORDINATOR, days), request_id="req-1", withdrawn_by_ref=IS_MOTHER)


# ---- row 14: establishing the team (IS-INV-1, IS-R14, IS-R14c) ------------------------------------------
def test_the_case_manager_establishes_the_team_and_the_parents_are_members_by_default() -> None:
    case = iceland_case(S.TEAM_FORMING)

    establish_team(case)

    assert case.status is S.TEAM_ACTIVE_NO_PLAN
    assert case.team_members == {
        PROVIDER_REP.person_ref: MemberType.SERVICE_PROVIDER_REP,
        COORDINATOR.person_ref: MemberType.COORDINATOR,
        IS_MOTHER: MemberType.PARENT,
        IS_FATHER: MemberType.PARENT,
        CASE_MANAGER.person_ref: MemberType.CASE_MANAGER,
    }


def test_no_support_team_before_the_request_for_integration() -> None:
    case = iceland_case(S.CONTACT)

    with refused(case, "IS-INV-1"):
        establish_team(case)


def test_no_support_team_after_the_request_is_withdrawn() -> None:
    case = iceland_case(S.TEAM_FORMING)
    withdraw(case, 18)

    with refused(case, "IS-INV-1"):
        establish_team(case)


@pytest.mark.parametrize("actor", [COORDINATOR, OTHER_CASE_MANAGER, PROVIDER_REP])
def test_only_the_case_manager_establishes_the_support_team(actor: Actor) -> None:
    case = iceland_case(S.TEAM_FORMING)

    with refused(case, "IS-R14"):
        case.establish_support_team(ctx(actor, 20), team_id="team-1", members=TEAM_MEMBERS)


def test_a_coordinator_led_case_has_no_support_team() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)

    with refused(case, "IS-R14"):
        case.establish_support_team(ctx(COORDINATOR, 20), team_id="team-1", members=TEAM_MEMBERS)


def test_a_support_team_is_established_once() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)

    with refused(case, "IS-SM"):
        establish_team(case, 25)


def test_a_support_team_needs_a_service_provider_representative() -> None:
    case = iceland_case(S.TEAM_FORMING)

    with refused(case, "IS-R14c"):
        establish_team(case, members=(TeamMember(COORDINATOR.person_ref, SCHOOL_ORG, MemberType.COORDINATOR),))


def test_no_support_team_is_established_on_a_closed_case() -> None:
    case = iceland_case(S.TEAM_FORMING)
    close_by_majority(case)

    with refused(case, "IS-SM"):
        establish_team(case, 500)


# ---- commands of an established team (IS-INV-1, IS-SM, IS-R19c, IS-R14) --------------------------------
def test_the_team_does_not_act_before_it_is_established() -> None:
    case = iceland_case(S.TEAM_FORMING)

    with refused(case, "IS-R19c"):
        adopt_plan(case)


def test_only_the_case_manager_adopts_the_support_plan() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)

    with refused(case, "IS-R14"):
        case.adopt_support_plan(ctx(COORDINATOR, 30), plan_id="plan-1", content=plan_content())


def test_the_team_does_not_act_after_the_request_is_withdrawn() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)
    withdraw(case)

    with refused(case, "IS-INV-1"):
        adopt_plan(case, 41)


def test_the_team_does_not_act_once_the_case_has_closed() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)
    close_by_majority(case)

    with refused(case, "IS-SM"):
        adopt_plan(case, 500)


# ---- row 15: inviting a general-service provider (IS-R15) ----------------------------------------------
def test_a_general_service_provider_joins_by_invitation_when_necessary() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)

    case.invite_general_service_provider(ctx(CASE_MANAGER, 25), person_ref=GENERAL_REP.person_ref,
                                         org_ref=SPORTS_CLUB_ORG, necessity_justification_ref="doc:necessity-1")

    assert case.team_members[GENERAL_REP.person_ref] is MemberType.GENERAL_SERVICE_REP


@pytest.mark.parametrize("justification", [None, ""])
def test_inviting_a_general_service_provider_needs_a_necessity_justification(justification: str | None) -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)

    with refused(case, "IS-R15"):
        case.invite_general_service_provider(ctx(CASE_MANAGER, 25), person_ref=GENERAL_REP.person_ref,
                                             org_ref=SPORTS_CLUB_ORG, necessity_justification_ref=justification)


def test_a_team_member_is_not_invited_again() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)

    with refused(case, "IS-R15"):
        case.invite_general_service_provider(ctx(CASE_MANAGER, 25), person_ref=PROVIDER_REP.person_ref,
                                             org_ref=BUP_ORG, necessity_justification_ref="doc:necessity-1")


def test_only_the_case_manager_invites_members() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)

    with refused(case, "IS-R14"):
        case.invite_general_service_provider(ctx(PROVIDER_REP, 25), person_ref=GENERAL_REP.person_ref,
                                             org_ref=SPORTS_CLUB_ORG, necessity_justification_ref="doc:necessity-1")


# ---- row 16: removing a member (IS-R16) --------------------------------------------------------------
def test_the_case_manager_removes_a_providers_representative() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)

    case.remove_team_member(ctx(CASE_MANAGER, 25), person_ref=PROVIDER_REP.person_ref, reason_code="service_ended")

    assert PROVIDER_REP.person_ref not in case.team_members


@pytest.mark.parametrize("parent", IS_PARENTS)
def test_parents_cannot_be_removed_from_the_support_team(parent: str) -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)

    with refused(case, "IS-R16"):
        case.remove_team_member(ctx(CASE_MANAGER, 25), person_ref=parent, reason_code="conflict")


def test_the_case_manager_who_leads_the_team_cannot_be_removed_from_it() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)

    with refused(case, "IS-R16"):
        case.remove_team_member(ctx(CASE_MANAGER, 25), person_ref=CASE_MANAGER.person_ref, reason_code="leaving")


def test_only_a_member_can_be_removed_from_the_team() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)

    with refused(case, "IS-R16"):
        case.remove_team_member(ctx(CASE_MANAGER, 25), person_ref=GENERAL_REP.person_ref, reason_code="none")


# ---- row 17: meetings (IS-R17) -----------------------------------------------------------------------
def invite(case: IcelandCase, invitees: tuple[str, ...], meeting_id: str = "meeting-1") -> None:
    case.invite_to_team_meeting(ctx(CASE_MANAGER, 22), meeting_id=meeting_id, invitee_refs=invitees,
                                scheduled_for=date(2026, 3, 30))


def hold(case: IcelandCase, meeting_id: str = "meeting-1") -> None:
    case.record_team_meeting(ctx(CASE_MANAGER, 28), meeting_id=meeting_id,
                             attendee_refs=(*IS_PARENTS, CASE_MANAGER.person_ref), parents_attended=True,
                             child_attended=False, minutes_doc_ref="doc:minutes-1", decision_codes=("draft_plan",))


def test_a_meeting_the_parents_were_invited_to_is_recorded() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)
    invite(case, (*IS_PARENTS, PROVIDER_REP.person_ref))

    hold(case)

    assert event_names(case)[-2:] == ["TeamMeetingInvitationSent", "SupportTeamMeetingHeld"]


@pytest.mark.parametrize("invitees", [(), (IS_MOTHER, PROVIDER_REP.person_ref)])
def test_parents_must_be_invited_to_every_team_meeting(invitees: tuple[str, ...]) -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)
    invite(case, invitees)

    with refused(case, "IS-R17"):
        hold(case)


def test_no_meeting_is_recorded_without_an_invitation() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)

    with refused(case, "IS-R17"):
        hold(case, "meeting-never-called")


def test_a_child_on_the_team_must_be_invited_to_its_meetings() -> None:
    case = iceland_case(S.TEAM_FORMING)
    establish_team(case, members=(*TEAM_MEMBERS, TeamMember(IS_CHILD, None, MemberType.CHILD)))
    invite(case, IS_PARENTS)

    with refused(case, "IS-R17"):
        hold(case)

    invite(case, (*IS_PARENTS, IS_CHILD), meeting_id="meeting-2")
    hold(case, "meeting-2")


# ---- row 19: the five-element support plan (IS-R19, IS-INV-3) ------------------------------------------
def test_the_support_plan_adopted_under_the_case_managers_lead_makes_the_plan_active() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)

    adopt_plan(case)

    assert case.status is S.PLAN_ACTIVE
    assert (case.plan_id, case.plan_version) == ("plan-1", 1)
    assert case.next_review == date(2026, 7, 1)


@pytest.mark.parametrize(
    ("element", "missing"),
    [
        ("needs_assessment", {"needs_assessment_ref": None}),
        ("objectives", {"objectives": ()}),
        ("provider_roles", {"provider_roles": ()}),
        ("evaluation_method", {"evaluation_method": None}),
        ("duration", {"valid_to": None}),
    ],
)
def test_a_support_plan_holds_each_of_the_five_elements_or_says_why_not(element: str,
                                                                       missing: dict[str, object]) -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)

    with refused(case, "IS-R19") as error:
        case.adopt_support_plan(ctx(CASE_MANAGER, 30), plan_id="plan-1", content=plan_content(**missing))
    assert element in error.value.reason

    reason_given = plan_content(**missing, not_applicable={element: "assessed_as_not_appropriate"})
    case.adopt_support_plan(ctx(CASE_MANAGER, 30), plan_id="plan-1", content=reason_given)
    assert case.status is S.PLAN_ACTIVE


def test_a_not_applicable_reason_names_one_of_the_five_elements() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)

    with refused(case, "IS-R19"):
        case.adopt_support_plan(ctx(CASE_MANAGER, 30), plan_id="plan-1",
                                content=plan_content(not_applicable={"budget": "none"}))


def test_a_support_plans_duration_ends_after_it_starts() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)

    with refused(case, "IS-R19"):
        case.adopt_support_plan(ctx(CASE_MANAGER, 30), plan_id="plan-1",
                                content=plan_content(valid_from=date(2026, 12, 31), valid_to=date(2026, 4, 1)))


def test_a_support_plans_objectives_are_documents_not_free_text() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)

    with rejected_as_invalid(case, "objectives[0]", "PRIV-1"):
        case.adopt_support_plan(ctx(CASE_MANAGER, 30), plan_id="plan-1",
                                content=plan_content(objectives=("Anna will attend school daily",)))


def test_a_case_has_at_most_one_active_support_plan() -> None:
    case = iceland_case(S.PLAN_ACTIVE)

    with refused(case, "IS-INV-3"):
        case.adopt_support_plan(ctx(CASE_MANAGER, 35), plan_id="plan-2", content=plan_content())


# ---- rows 20-21: evaluation and revision (IS-R20, IS-INV-3) ----------------------------------------------
def test_the_case_manager_records_the_teams_evaluation_of_the_plan() -> None:
    case = iceland_case(S.PLAN_ACTIVE)

    case.evaluate_support_plan(ctx(CASE_MANAGER, 120), plan_id="plan-1", version=1,
                               outcome=EvaluationOutcome.CONTINUE, progress_doc_ref="doc:progress-1",
                               next_review_date=date(2026, 10, 1))

    assert case.next_review == date(2026, 10, 1)


def test_only_an_adopted_plan_is_evaluated() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)

    with refused(case, "IS-R20"):
        case.evaluate_support_plan(ctx(CASE_MANAGER, 120), plan_id="plan-1", version=1,
                                   outcome=EvaluationOutcome.CONTINUE, progress_doc_ref="doc:progress-1")


def test_an_evaluation_concerns_the_current_plan_version() -> None:
    case = iceland_case(S.PLAN_ACTIVE)

    with refused(case, "IS-INV-3"):
        case.evaluate_support_plan(ctx(CASE_MANAGER, 120), plan_id="plan-1", version=2,
                                   outcome=EvaluationOutcome.CONTINUE, progress_doc_ref="doc:progress-1")


def test_an_evaluation_concerns_this_cases_plan() -> None:
    case = iceland_case(S.PLAN_ACTIVE)

    with refused(case, "IS-R20"):
        case.evaluate_support_plan(ctx(CASE_MANAGER, 120), plan_id="plan-of-another-case", version=1,
                                   outcome=EvaluationOutcome.CONTINUE, progress_doc_ref="doc:progress-1")


def test_only_the_case_manager_records_the_evaluation() -> None:
    case = iceland_case(S.PLAN_ACTIVE)

    with refused(case, "IS-R14"):
        case.evaluate_support_plan(ctx(PROVIDER_REP, 120), plan_id="plan-1", version=1,
                                   outcome=EvaluationOutcome.CONTINUE, progress_doc_ref="doc:progress-1")


def test_a_revision_is_a_new_version_superseding_the_current_one() -> None:
    case = iceland_case(S.PLAN_ACTIVE)

    case.revise_support_plan(ctx(CASE_MANAGER, 120), plan_id="plan-1", supersedes_version=1,
                             content=plan_content(valid_to=date(2027, 6, 1), review_dates=()))

    revised = last_event(case, "SupportPlanRevised")
    assert (revised.version, revised.supersedes_version) == (2, 1)
    assert case.plan_version == 2
    assert case.next_review == date(2027, 6, 1)


def test_only_an_adopted_plan_is_revised() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)

    with refused(case, "IS-R20"):
        case.revise_support_plan(ctx(CASE_MANAGER, 120), plan_id="plan-1", supersedes_version=1,
                                 content=plan_content())


def test_a_revision_supersedes_the_current_version_never_an_older_one() -> None:
    case = iceland_case(S.PLAN_ACTIVE)
    case.revise_support_plan(ctx(CASE_MANAGER, 120), plan_id="plan-1", supersedes_version=1, content=plan_content())

    with refused(case, "IS-INV-3"):
        case.revise_support_plan(ctx(CASE_MANAGER, 121), plan_id="plan-1", supersedes_version=1,
                                 content=plan_content())


def test_a_revised_plan_still_holds_the_five_elements() -> None:
    case = iceland_case(S.PLAN_ACTIVE)

    with refused(case, "IS-R19"):
        case.revise_support_plan(ctx(CASE_MANAGER, 120), plan_id="plan-1", supersedes_version=1,
                                 content=plan_content(evaluation_method=None))


# ---- row 22: the adult transition plan (IS-INV-7, IS-R22) ------------------------------------------------
def adopt_transition_plan(case: IcelandCase, *, on: date = date(2026, 10, 1),
                          handovers: tuple[AdultServiceHandover, ...] = HANDOVER) -> None:
    case.adopt_adult_transition_plan(ctx(CASE_MANAGER, on=on), plan_id="transition-1",
                                     adult_service_handovers=handovers, young_person_participated=True,
                                     settings=SETTINGS)


def test_the_team_plans_the_services_after_adulthood_before_the_18th_birthday() -> None:
    case = iceland_case(S.PLAN_ACTIVE)

    adopt_transition_plan(case, on=date(2027, 6, 14))

    assert last_event(case, "AdultTransitionPlanAdopted").child_age_years_at_adoption == 17
    assert case.transition_plan_adopted_on == date(2027, 6, 14)


def test_the_adult_transition_plan_must_be_adopted_before_the_18th_birthday() -> None:
    case = iceland_case(S.PLAN_ACTIVE)

    with refused(case, "IS-INV-7"):
        adopt_transition_plan(case, on=IS_18TH_BIRTHDAY)


def test_a_municipality_with_a_different_age_of_majority_counts_from_it() -> None:
    case = iceland_case(S.PLAN_ACTIVE)

    with refused(case, "IS-INV-7"):
        case.adopt_adult_transition_plan(ctx(CASE_MANAGER, on=date(2026, 10, 1)), plan_id="transition-1",
                                         adult_service_handovers=HANDOVER, young_person_participated=True,
                                         settings=LegalSettings(age_of_majority_years=17))


def test_the_adult_transition_plan_needs_the_childs_birth_date() -> None:
    case = register_contact(birth_date=None)
    request_integration(case)
    notify_need_for_case_manager(case)
    appoint_case_manager(case)
    establish_team(case)

    with refused(case, "IS-INV-7"):
        adopt_transition_plan(case)


def test_the_adult_transition_plan_names_the_adult_services_that_take_over() -> None:
    case = iceland_case(S.PLAN_ACTIVE)

    with refused(case, "IS-R22"):
        adopt_transition_plan(case, handovers=())


def test_only_the_case_manager_adopts_the_adult_transition_plan() -> None:
    case = iceland_case(S.PLAN_ACTIVE)

    with refused(case, "IS-R14"):
        case.adopt_adult_transition_plan(ctx(COORDINATOR, on=date(2026, 10, 1)), plan_id="transition-1",
                                         adult_service_handovers=HANDOVER, young_person_participated=True,
                                         settings=SETTINGS)


def test_referral_back_to_the_coordinator_ends_the_plan_and_the_team() -> None:
    case = iceland_case(S.PLAN_ACTIVE)

    case.conclude_support_team(ctx(CASE_MANAGER, 200), outcome=TeamOutcome.REFERRED_BACK_TO_COORDINATOR,
                               justification_doc_ref="doc:referral-1", settings=SETTINGS)

    assert case.status is S.INTEGRATION_ACTIVE_L1
    assert case.plan_version is None and case.team_members == {}
    with refused(case, "IS-R19c"):
        adopt_plan(case, 201)
