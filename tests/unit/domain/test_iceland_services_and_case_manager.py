"""Iceland, rows 9-13 and 27 of domain.md §2.3: services at their levels, the optional first-level plan,
the coordinator's notice that a case manager is needed, the domicile municipality's appointment, and a
move to another municipality."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from domain.case_iceland import IcelandCase, IcelandStatus
from domain.values import Actor, IntegrationTrack, MemberType
from tests.unit.domain.builders import (
    BUP_ORG,
    CASE_MANAGER,
    COORDINATOR,
    IS_18TH_BIRTHDAY,
    KOPAVOGUR,
    KOPAVOGUR_LEAD,
    MUNICIPALITY_LEAD,
    NEW_COORDINATOR,
    OTHER_CASE_MANAGER,
    REYKJAVIK,
    SCHOOL_ORG,
    SETTINGS,
    SOCIAL_SERVICES_ORG,
    ctx,
    event_names,
    iceland_case,
    last_event,
    refused,
)

S = IcelandStatus


def record_service(case: IcelandCase, service_id: str, level: int, days: int = 5) -> None:
    case.record_service(ctx(COORDINATOR, days), service_id=service_id, provider_org_ref=BUP_ORG,
                        service_level=level, service_type_code="psychology", start_date=date(2026, 3, 9))


def appoint(case: IcelandCase, *, actor: Actor = MUNICIPALITY_LEAD, municipality_ref: str = REYKJAVIK,
            needs_l2_l3_multilevel: bool = True, long_term: bool = True, works_in_area: bool = True,
            case_manager_ref: str = CASE_MANAGER.person_ref, days: int = 14) -> None:
    case.appoint_case_manager(ctx(actor, days), case_manager_ref=case_manager_ref,
                              municipality_ref=municipality_ref, org_unit_ref=SOCIAL_SERVICES_ORG,
                              needs_l2_l3_multilevel=needs_l2_l3_multilevel, long_term=long_term,
                              works_in_social_services_or_area_of_needs=works_in_area)


# ---- rows 9-10: services and their levels (IS-R10) -------------------------------------------------------
def test_a_service_at_a_higher_level_raises_the_childs_highest_level() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)

    record_service(case, "svc-1", 1)
    record_service(case, "svc-2", 3)
    record_service(case, "svc-3", 2)

    assert case.highest_level == 3
    assert event_names(case)[-5:] == ["ServiceRecorded", "LevelRaised", "ServiceRecorded", "LevelRaised",
                                      "ServiceRecorded"]
    raised = last_event(case, "LevelRaised")
    assert (raised.from_level, raised.to_level) == (1, 3)


@pytest.mark.parametrize("level", [0, 4, -1])
def test_services_are_recorded_only_at_levels_1_2_and_3(level: int) -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)

    with refused(case, "IS-R10"):
        record_service(case, "svc-1", level)


def test_a_service_is_recorded_only_once() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)
    record_service(case, "svc-1", 2)

    with refused(case, "IS-R10"):
        record_service(case, "svc-1", 3)


def test_no_service_is_recorded_without_an_active_request() -> None:
    case = iceland_case(S.CONTACT)

    with refused(case, "IS-G0"):
        record_service(case, "svc-1", 1)


def test_only_an_active_service_can_end() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)
    record_service(case, "svc-1", 2)
    case.end_service(ctx(COORDINATOR, 30), service_id="svc-1", end_date=date(2026, 4, 1))

    with refused(case, "IS-R10"):
        case.end_service(ctx(COORDINATOR, 31), service_id="svc-1", end_date=date(2026, 4, 2))
    with refused(case, "IS-R10"):
        case.end_service(ctx(COORDINATOR, 31), service_id="svc-unknown", end_date=date(2026, 4, 2))
    assert case.highest_level is None


def test_no_service_ends_without_an_active_request() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)
    record_service(case, "svc-1", 2)
    case.withdraw_integration_request(ctx(COORDINATOR, 20), request_id="req-1", withdrawn_by_ref=case.parent_refs[0])

    with refused(case, "IS-G0"):
        case.end_service(ctx(COORDINATOR, 21), service_id="svc-1", end_date=date(2026, 4, 1))


# ---- row 11: the optional first-level plan -----------------------------------------------------------
def test_a_first_level_plan_may_be_recorded_while_the_coordinator_leads() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)

    case.record_level1_plan(ctx(COORDINATOR, 6), objective_refs=("doc:l1-objective",),
                            responsible_org_refs=(SCHOOL_ORG,), follow_up_date=date(2026, 5, 1))

    assert event_names(case)[-1] == "Level1PlanRecorded"


def test_a_first_level_plan_is_recorded_only_at_the_first_level() -> None:
    case = iceland_case(S.AWAITING_CASE_MANAGER)

    with refused(case, "IS-SM"):
        case.record_level1_plan(ctx(COORDINATOR, 16), objective_refs=("doc:l1-objective",),
                                responsible_org_refs=(SCHOOL_ORG,), follow_up_date=date(2026, 5, 1))


# ---- row 12: the need for a case manager (IS-R12, IS-R13) --------------------------------------------
def test_the_coordinator_notifies_the_domicile_municipality_that_a_case_manager_is_needed() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)

    case.notify_need_for_case_manager(ctx(COORDINATOR, 10), municipality_ref=REYKJAVIK)

    assert case.status is S.AWAITING_CASE_MANAGER
    assert last_event(case, "CaseManagerNeedNotified").coordinator_ref == COORDINATOR.person_ref


@pytest.mark.parametrize("actor", [CASE_MANAGER, MUNICIPALITY_LEAD, NEW_COORDINATOR])
def test_only_the_childs_own_coordinator_notifies_the_need_for_a_case_manager(actor: Actor) -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)

    with refused(case, "IS-R12"):
        case.notify_need_for_case_manager(ctx(actor, 10), municipality_ref=REYKJAVIK)


def test_the_need_for_a_case_manager_is_notified_to_the_domicile_municipality() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)

    with refused(case, "IS-R13"):
        case.notify_need_for_case_manager(ctx(COORDINATOR, 10), municipality_ref=KOPAVOGUR)


def test_the_need_for_a_case_manager_is_notified_once() -> None:
    case = iceland_case(S.AWAITING_CASE_MANAGER)

    with refused(case, "IS-SM"):
        case.notify_need_for_case_manager(ctx(COORDINATOR, 11), municipality_ref=REYKJAVIK)


def test_no_need_for_a_case_manager_is_notified_without_an_active_request() -> None:
    case = iceland_case(S.CONTACT)

    with refused(case, "IS-G0"):
        case.notify_need_for_case_manager(ctx(COORDINATOR, 10), municipality_ref=REYKJAVIK)


# ---- row 13: appointing the case manager (IS-R13, IS-INV-2, IS-R13d) -------------------------------------
def test_the_domicile_municipality_appoints_the_case_manager_who_then_leads() -> None:
    case = iceland_case(S.AWAITING_CASE_MANAGER)

    appoint(case)

    assert case.status is S.TEAM_FORMING
    assert case.track is IntegrationTrack.CASE_MANAGER_LED
    assert case.case_manager_ref == CASE_MANAGER.person_ref


def test_a_case_manager_is_appointed_only_after_the_coordinator_notified_the_need() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)

    with refused(case, "IS-SM"):
        appoint(case)


def test_no_case_manager_is_appointed_without_an_active_request() -> None:
    case = iceland_case(S.CONTACT)

    with refused(case, "IS-G0"):
        appoint(case)


@pytest.mark.parametrize("actor", [COORDINATOR, CASE_MANAGER])
def test_the_case_manager_is_appointed_by_the_municipality(actor: Actor) -> None:
    case = iceland_case(S.AWAITING_CASE_MANAGER)

    with refused(case, "IS-R13"):
        appoint(case, actor=actor)


def test_case_manager_must_be_appointed_by_the_domicile_municipality() -> None:
    case = iceland_case(S.AWAITING_CASE_MANAGER)

    with refused(case, "IS-R13"):
        appoint(case, actor=KOPAVOGUR_LEAD, municipality_ref=KOPAVOGUR)


@pytest.mark.parametrize(("needs_l2_l3_multilevel", "long_term"), [(False, True), (True, False), (False, False)])
def test_a_case_manager_is_appointed_only_for_long_term_multi_level_needs_at_levels_2_and_3(
        needs_l2_l3_multilevel: bool, long_term: bool) -> None:
    case = iceland_case(S.AWAITING_CASE_MANAGER)

    with refused(case, "IS-INV-2"):
        appoint(case, needs_l2_l3_multilevel=needs_l2_l3_multilevel, long_term=long_term)


def test_the_case_manager_works_in_social_services_or_where_the_childs_needs_lie() -> None:
    case = iceland_case(S.AWAITING_CASE_MANAGER)

    with refused(case, "IS-R13d"):
        appoint(case, works_in_area=False)


def test_a_second_case_manager_is_not_appointed_while_one_leads() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)

    with refused(case, "IS-SM"):
        appoint(case, case_manager_ref=OTHER_CASE_MANAGER.person_ref, days=30)


# ---- row 27: the family moves (IS-R27) -------------------------------------------------------------------
def test_after_a_move_the_new_domicile_municipality_reappoints_the_case_manager() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)

    case.change_domicile(ctx(KOPAVOGUR_LEAD, 40), to_municipality_ref=KOPAVOGUR)
    assert case.case_manager_reappointment_pending
    appoint(case, actor=KOPAVOGUR_LEAD, municipality_ref=KOPAVOGUR,
            case_manager_ref=OTHER_CASE_MANAGER.person_ref, days=45)

    assert case.status is S.TEAM_ACTIVE_NO_PLAN
    assert case.case_manager_ref == OTHER_CASE_MANAGER.person_ref
    assert case.team_members[OTHER_CASE_MANAGER.person_ref] is MemberType.CASE_MANAGER
    assert CASE_MANAGER.person_ref not in case.team_members
    assert not case.case_manager_reappointment_pending


def test_after_a_move_the_former_municipality_no_longer_appoints_the_case_manager() -> None:
    case = iceland_case(S.TEAM_ACTIVE_NO_PLAN)
    case.change_domicile(ctx(KOPAVOGUR_LEAD, 40), to_municipality_ref=KOPAVOGUR)

    with refused(case, "IS-R13"):
        appoint(case, municipality_ref=REYKJAVIK, case_manager_ref=OTHER_CASE_MANAGER.person_ref, days=45)


def test_a_move_changes_the_domicile_to_another_municipality() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)

    with refused(case, "IS-R27"):
        case.change_domicile(ctx(MUNICIPALITY_LEAD, 40), to_municipality_ref=REYKJAVIK)


def test_the_domicile_of_a_closed_case_does_not_change() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)
    case.record_majority(ctx(COORDINATOR, on=IS_18TH_BIRTHDAY), settings=SETTINGS)

    with refused(case, "IS-SM"):
        case.change_domicile(ctx(MUNICIPALITY_LEAD, 500), to_municipality_ref=KOPAVOGUR)


# ---- levels raised and lowered from the highest active level (issue 12) -----------------------------------
def end_service(case: IcelandCase, service_id: str, days: int = 6) -> None:
    case.end_service(ctx(COORDINATOR, days), service_id=service_id, end_date=date(2026, 3, 10))


def test_after_a_level_3_service_ends_a_level_2_one_lowers_the_level_from_3_to_2() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)
    record_service(case, "svc-3", 3)
    end_service(case, "svc-3")

    assert event_names(case)[-1] == "ServiceEnded"  # the level stands while no service is active
    record_service(case, "svc-2", 2, days=7)

    lowered = last_event(case, "LevelLowered")
    assert (lowered.from_level, lowered.to_level, lowered.reason) == (3, 2, "service_recorded")
    assert event_names(case)[-2:] == ["ServiceRecorded", "LevelLowered"]
    raised: list[Any] = [e for e in case.pending_events if type(e).__name__ == "LevelRaised"]
    assert [e.from_level for e in raised] == [None]


def test_ending_the_highest_service_lowers_the_level_to_the_next_active_one() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)
    record_service(case, "svc-1", 1)
    record_service(case, "svc-3", 3)

    end_service(case, "svc-3")

    lowered = last_event(case, "LevelLowered")
    assert (lowered.from_level, lowered.to_level, lowered.reason, lowered.service_id) == (3, 1, "service_ended",
                                                                                         "svc-3")
    assert case.current_level == 1


def test_a_service_at_the_standing_level_changes_nothing() -> None:
    case = iceland_case(S.INTEGRATION_ACTIVE_L1)
    record_service(case, "svc-2a", 2)
    end_service(case, "svc-2a")

    record_service(case, "svc-2b", 2, days=7)

    assert event_names(case)[-1] == "ServiceRecorded"
    assert case.current_level == 2
