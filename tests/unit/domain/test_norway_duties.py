"""Norway after the decision (seed 002): the barnekoordinator's duties as facts (NO-R15, NO-R16, NO-R17, within
NO-G0 and NO-R6), and complaints on the four grounds of the law (NO-R9, NO-R9b). Every guard refuses and records
nothing; every new fact is recorded once with what the law asks of it."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent

from domain.case_norway import NorwayCase, NorwayStatus
from domain.legal_settings import LegalSettings
from domain.values import (
    SYSTEM_ACTOR,
    Actor,
    ComplaintGround,
    Decision,
    FollowUpPurpose,
    GuidanceTopic,
    ReassessmentReason,
    ReferralKind,
    Role,
    ViewsMethod,
)
from services.casework.application import Casework
from tests.unit.domain.builders import (
    BARNEKOORDINATOR,
    COORDINATING_UNIT,
    HABILITATION_ORG,
    NO_18TH_BIRTHDAY,
    NO_CHILD,
    NO_MOTHER,
    NO_STAFF,
    SETTINGS,
    ctx,
    decide,
    last_event,
    norway_case,
    refused,
)

N = NorwayStatus
STRANGER = "person:neighbour-1"
NLSH = "org:nordlandssykehuset"
NLSH_COORDINATOR = "person:nlsh-coordinator-1"
DAYS_TO_MAJORITY = (NO_18TH_BIRTHDAY - ctx(NO_STAFF).day).days


def guidance(case: NorwayCase, given_to: tuple[str, ...] = (NO_MOTHER, NO_CHILD),
             topics: tuple[GuidanceTopic, ...] = (GuidanceTopic.OTHER_WELFARE_SERVICES,),
             actor: Actor = BARNEKOORDINATOR, days: int = 30) -> None:
    case.record_guidance_given(ctx(actor, days), topics=topics, given_to_refs=given_to,
                               summary_doc_ref="doc:guidance-1")


def follow_up(case: NorwayCase, purpose: FollowUpPurpose = FollowUpPurpose.ASSESSMENT_SUFFICIENCY) -> None:
    case.follow_up_with_service(ctx(BARNEKOORDINATOR, 30), target_service_org_ref="org:nav-bodo", purpose=purpose,
                                detail_doc_ref="doc:follow-up-1")


def views(case: NorwayCase, views_of: tuple[str, ...] = (NO_CHILD,)) -> None:
    case.record_family_views(ctx(BARNEKOORDINATOR, 30), views_of_refs=views_of, method=ViewsMethod.DRAWING,
                             summary_doc_ref="doc:views-1")


def link(case: NorwayCase, specialist: str = NLSH_COORDINATOR, days: int = 30) -> None:
    case.link_specialist_coordinator(ctx(BARNEKOORDINATOR, days), specialist_coordinator_ref=specialist,
                                     health_trust_org_ref=NLSH)


def complain(case: NorwayCase, ground: ComplaintGround | None, *, decision_id: str | None = None, days: int = 40,
             complaint_id: str = "klage-1", settings: LegalSettings = SETTINGS) -> None:
    case.receive_complaint(ctx(NO_STAFF, days), complaint_id=complaint_id, decision_id=decision_id,
                           received_by_ref=COORDINATING_UNIT, settings=settings, ground=ground)


# ---- the duties: one fact each -------------------------------------------------------------------------------
def test_information_and_holistic_guidance_given_to_the_family_is_a_fact() -> None:
    case = norway_case(N.ACTIVE)

    guidance(case, topics=(GuidanceTopic.HEALTH_AND_CARE_SERVICES, GuidanceTopic.PATIENT_AND_USER_ORGANISATIONS,
                           GuidanceTopic.HEALTH_AND_CARE_SERVICES))

    given = last_event(case, "CoordinatorGuidanceGiven")
    assert given.topics == (GuidanceTopic.HEALTH_AND_CARE_SERVICES, GuidanceTopic.PATIENT_AND_USER_ORGANISATIONS)
    assert given.given_to_refs == (NO_MOTHER, NO_CHILD) and given.summary_doc_ref == "doc:guidance-1"


def test_a_referral_or_contact_communicated_is_a_fact() -> None:
    case = norway_case(N.ACTIVE)

    case.communicate_referral(ctx(BARNEKOORDINATOR, 30), kind=ReferralKind.REFERRAL,
                              topic=GuidanceTopic.PATIENT_AND_USER_ORGANISATIONS, target_org_ref="org:ffo",
                              summary_doc_ref="doc:referral-1")

    sent = last_event(case, "ReferralCommunicated")
    assert (sent.kind, sent.topic, sent.target_org_ref) == (
        ReferralKind.REFERRAL, GuidanceTopic.PATIENT_AND_USER_ORGANISATIONS, "org:ffo")


def test_following_up_a_service_on_the_familys_behalf_is_a_fact() -> None:
    case = norway_case(N.ACTIVE)

    follow_up(case)

    assert last_event(case, "ServiceFollowedUp").purpose is FollowUpPurpose.ASSESSMENT_SUFFICIENCY


@pytest.mark.parametrize("purpose", [FollowUpPurpose.SERVICE_CONTENT, FollowUpPurpose.SERVICE_METHOD])
def test_a_follow_up_never_tells_a_service_which_services_to_give_or_how(purpose: FollowUpPurpose) -> None:
    case = norway_case(N.ACTIVE)

    with refused(case, "NO-R16"):
        follow_up(case, purpose)


def test_a_reassessment_driven_while_the_coordination_is_active_is_a_fact() -> None:
    case = norway_case(N.ACTIVE)

    case.initiate_reassessment(ctx(BARNEKOORDINATOR, 30), target_service_org_ref=HABILITATION_ORG,
                               reason=ReassessmentReason.NEEDS_CHANGED, detail_doc_ref="doc:reassessment-1")

    assert last_event(case, "ReassessmentInitiated").reason is ReassessmentReason.NEEDS_CHANGED


def test_the_childs_views_heard_while_the_coordinator_works_are_a_fact() -> None:
    case = norway_case(N.ACTIVE)

    views(case)

    heard = last_event(case, "FamilyViewsRecorded")
    assert heard.views_of_refs == (NO_CHILD,) and heard.method is ViewsMethod.DRAWING


def test_guidance_and_views_are_the_familys_only() -> None:
    case = norway_case(N.ACTIVE)

    with refused(case, "NO-R15"):
        guidance(case, given_to=(NO_MOTHER, STRANGER))
    with refused(case, "NO-R15"):
        guidance(case, topics=())
    with refused(case, "NO-R15"):
        views(case, views_of=(STRANGER,))


def test_the_specialist_health_services_coordinator_is_linked_beside_the_barnekoordinator() -> None:
    case = norway_case(N.ACTIVE)

    link(case)

    linked = last_event(case, "SpecialistCoordinatorLinked")
    assert (linked.specialist_coordinator_ref, linked.health_trust_org_ref) == (NLSH_COORDINATOR, NLSH)
    assert case.coordinator_ref == BARNEKOORDINATOR.person_ref  # both at once
    assert case.specialist_coordinator_refs == (NLSH_COORDINATOR,)


def test_the_specialist_coordinator_is_another_person_and_linked_once() -> None:
    case = norway_case(N.ACTIVE)
    link(case)

    with refused(case, "NO-R17"):
        link(case, days=31)
    with refused(case, "NO-R17"):
        link(case, specialist=BARNEKOORDINATOR.person_ref, days=31)


def test_the_duties_are_the_appointed_coordinators_within_the_familys_consent() -> None:
    granted = norway_case(N.GRANTED, with_consent=True)
    with refused(granted, "NO-SM"):
        guidance(granted)

    active = norway_case(N.ACTIVE)
    with refused(active, "NO-R6"):
        guidance(active, actor=Actor("person:no-bk-2", Role.COORDINATOR, COORDINATING_UNIT))
    active.withdraw_consent(ctx(NO_STAFF, 25), consent_id="consent-1", withdrawn_by_ref=NO_MOTHER)
    with refused(active, "NO-G0"):
        guidance(active)


# ---- complaints: the four grounds (NO-R9, NO-R9b) ------------------------------------------------------------
def test_the_right_not_fulfilled_is_complainable_while_the_grant_stands() -> None:
    case = norway_case(N.ACTIVE)

    complain(case, ComplaintGround.RIGHT_NOT_FULFILLED, days=200)

    received = last_event(case, "ComplaintReceived")
    assert (received.ground, received.decision_id) == (ComplaintGround.RIGHT_NOT_FULFILLED, "dec-1")
    assert received.within_deadline is True  # an ongoing failure has no four weeks to miss


def test_a_grant_is_complained_about_only_as_the_right_not_fulfilled() -> None:
    case = norway_case(N.ACTIVE)

    with refused(case, "NO-R9"):
        complain(case, None)
    with refused(case, "NO-R9"):
        complain(case, ComplaintGround.REFUSAL)


def test_the_right_not_fulfilled_is_about_the_decision_that_stands() -> None:
    case = norway_case(N.ACTIVE)
    decide(case, Decision.CHANGED, decision_id="dec-2", days=30)

    with refused(case, "NO-R9"):
        complain(case, ComplaintGround.RIGHT_NOT_FULFILLED, decision_id="dec-1")
    complain(case, ComplaintGround.RIGHT_NOT_FULFILLED)

    assert last_event(case, "ComplaintReceived").decision_id == "dec-2"


def test_a_complaint_names_its_ground_or_takes_its_decisions() -> None:
    case = norway_case(N.REFUSED)

    with refused(case, "NO-R9"):
        complain(case, ComplaintGround.CHANGE_OR_TERMINATION)
    complain(case, None, days=20)

    assert last_event(case, "ComplaintReceived").ground is ComplaintGround.REFUSAL


def after_18_case(*, record_majority: bool) -> NorwayCase:
    case = norway_case(N.ACTIVE)
    if record_majority:
        case.record_majority(ctx(SYSTEM_ACTOR, DAYS_TO_MAJORITY), settings=SETTINGS)
        assert case.status is N.ORDINARY_COORDINATOR_ASSESSMENT
    return case


@pytest.mark.parametrize("record_majority", [True, False])
def test_no_ordinary_coordinator_decided_within_n_days_after_18_is_complainable(record_majority: bool) -> None:
    case = after_18_case(record_majority=record_majority)
    deadline = DAYS_TO_MAJORITY + (SETTINGS.no_ordinary_coordinator_decision_days or 0)

    with refused(case, "NO-R9b"):
        complain(case, ComplaintGround.NO_ORDINARY_COORDINATOR_AFTER_18, days=deadline - 1)
    complain(case, ComplaintGround.NO_ORDINARY_COORDINATOR_AFTER_18, days=deadline)

    received = last_event(case, "ComplaintReceived")
    assert (received.ground, received.decision_id) == (ComplaintGround.NO_ORDINARY_COORDINATOR_AFTER_18, "dec-1")


def test_no_decision_after_18_is_complainable_only_where_one_is_awaited_and_a_deadline_is_set() -> None:
    before_18 = norway_case(N.ACTIVE)
    with refused(before_18, "NO-R9b"):
        complain(before_18, ComplaintGround.NO_ORDINARY_COORDINATOR_AFTER_18, days=400)

    unknown = dataclasses.replace(SETTINGS, no_ordinary_coordinator_decision_days=None)
    case = after_18_case(record_majority=True)
    with refused(case, "NO-R9b"):
        complain(case, ComplaintGround.NO_ORDINARY_COORDINATOR_AFTER_18, days=DAYS_TO_MAJORITY + 400,
                 settings=unknown)


def test_a_refusal_after_18_is_complainable_on_that_ground_too() -> None:
    case = after_18_case(record_majority=True)
    decide(case, Decision.ORDINARY_COORDINATOR_AFTER_18_REFUSED, decision_id="dec-2", days=DAYS_TO_MAJORITY + 5)

    complain(case, ComplaintGround.NO_ORDINARY_COORDINATOR_AFTER_18, days=DAYS_TO_MAJORITY + 6)

    received = last_event(case, "ComplaintReceived")
    assert received.decision_id == "dec-2" and received.within_deadline is True


def test_a_complaint_stored_before_grounds_were_replays_with_none() -> None:
    """Upcasting (eventsourcing's class_version): a v1 ComplaintReceived has no ground and no class_version."""
    popo = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    app = Casework(env=popo)
    case = norway_case(N.REFUSED)
    complain(case, None, days=20)
    app.save(case)
    *earlier, last = app.recorder.select_events(case.id)
    state = json.loads(last.state)
    assert state.pop("class_version") == 2 and state.pop("ground") is not None
    v1 = StoredEvent(last.originator_id, last.originator_version, last.topic, json.dumps(state).encode())
    older = Casework(env=popo)
    older.recorder.insert_events([*earlier, v1])

    replayed: NorwayCase = older.repository.get(case.id)

    assert replayed.complaints == case.complaints
    upcast: Any = older.mapper.to_domain_event(v1)
    assert upcast.ground is None
