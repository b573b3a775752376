"""The HTTP API over real PostgreSQL (FastAPI TestClient): both lifecycles, problems, concurrency,
idempotency, identity and the access model's refusals (the whole matrix is in tests/unit/test_access_matrix.py,
the attacks in test_api_attacks.py).

The steps mirror ``services.walkthrough``; the application's clock is moved to each step's day, so the
facts carry the same dates as in the walkthrough (the API records "now").
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import jwt
import pytest
import structlog.testing

with warnings.catch_warnings():  # starlette's TestClient still runs on httpx; the deprecation is not ours
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from contracts import commands as c
from domain import access
from domain.values import (
    Actor,
    AdultServiceHandover,
    EligibilityCriteria,
    IndividualPlanContent,
    MemberType,
    ProviderRole,
    Role,
    SupportPlanContent,
    TeamMember,
)
from services.api import request_log
from services.api.app import create_app
from services.api.identity import mint_token
from services.api.routes import ROUTES
from services.api.settings import ApiSettings
from services.casework.application import Casework
from services.infra.postgres_env import PgTarget

START = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)
PATHS = {route.model: route.path for route in ROUTES}
SETTINGS = ApiSettings()


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Api:
    client: TestClient
    app: Casework
    clock: Clock

    def post(self, command: c.Command, actor: Actor, day: int = 0, headers: dict[str, str] | None = None) -> Any:
        """POST ``command`` to its endpoint as ``actor``, on the given day of the episode."""
        self.clock.now = START + timedelta(days=day)
        case_id = getattr(command, "case_id", None)
        path = PATHS[type(command)].replace("{case_id}", str(case_id))
        body = command.model_dump(mode="json", exclude={"case_id"})
        return self.client.post(path, json=body, headers={**auth(actor), **(headers or {})})

    def ok(self, command: c.Command, actor: Actor, day: int = 0) -> dict[str, Any]:
        response = self.post(command, actor, day)
        assert response.status_code in (200, 201), response.text
        body: dict[str, Any] = response.json()
        assert response.headers["ETag"] == f'"{body["version"]}"'
        return body

    def stored_events(self) -> int:
        return int(self.app.recorder.max_notification_id() or 0)


def auth(actor: Actor) -> dict[str, str]:
    token = mint_token(SETTINGS, person_ref=actor.person_ref, role=actor.role, org_ref=actor.org_ref,
                       municipality_ref=actor.municipality_ref,
                       jurisdiction=None if actor.jurisdiction is None else actor.jurisdiction.value)
    return {"Authorization": f"Bearer {token}"}


def reading(actor: Actor) -> dict[str, str]:
    """``auth`` with the purpose this reader states (ACCESS-PURPOSE): the family about its own case, the supervisor
    for supervision, the national agency for oversight, everyone else for casework."""
    purpose = {Role.PARENT: "own_case", Role.YOUNG_PERSON: "own_case", Role.SUPERVISOR: "supervision",
               Role.NATIONAL_AGENCY: "oversight"}.get(actor.role, "casework")
    return {**auth(actor), "X-Purpose": purpose}


@pytest.fixture
def api(pg_schema: PgTarget) -> Iterator[Api]:
    clock = Clock()
    app = Casework(pg_schema.eventsourcing_env(), clock=clock)
    try:
        with TestClient(create_app(app, SETTINGS)) as client:
            yield Api(client, app, clock)
    finally:
        app.close()


# ---- the cast (as in services.walkthrough) ------------------------------------------------------------------
SCHOOL, HEALTH, SOCIAL = "org:school-rvk-1", "org:healthcentre-rvk-1", "org:social-rvk"
MUM, DAD, CHILD = "person:parent-is-1", "person:parent-is-2", "person:child-is-1"
LEAD = Actor("person:lead-rvk", Role.MUNICIPALITY_LEAD, "org:town-hall-rvk", "muni:reykjavik")
COORD = Actor("person:coord-is-1", Role.COORDINATOR, SCHOOL)
NURSE = Actor("person:nurse-1", Role.SERVICE_PROVIDER_REP, HEALTH)
CM = Actor("person:cm-is-1", Role.CASE_MANAGER, SOCIAL)
UNIT = "org:koordinerende-enhet-bodo"
STAFF = Actor("person:staff-bodo-1", Role.MUNICIPAL_STAFF, UNIT, "muni:bodo")
BK = Actor("person:bk-bodo-1", Role.COORDINATOR, UNIT)
NO_MUM, NO_CHILD = "person:parent-no-1", "person:child-no-1"

Step = tuple[int, Actor, Callable[[UUID], c.Command]]
PLAN = SupportPlanContent(
    needs_assessment_ref="doc:needs-1", objectives=("doc:objective-1", "doc:objective-2"),
    provider_roles=(ProviderRole(SCHOOL, "doc:role-school"), ProviderRole(SOCIAL, "doc:role-social")),
    evaluation_method="team_review_against_objectives", valid_from=date(2024, 3, 1), valid_to=date(2025, 2, 28),
    review_dates=(date(2024, 9, 1),), participants=(MUM, CHILD, CM.person_ref), parents_participated=True,
    child_participated=True)


def open_iceland_case(api: Api) -> UUID:
    api.ok(c.RegisterInstitution(org_ref=SCHOOL, institution_type="secondary_school", municipality_ref="muni:reykjavik",
                                 jurisdiction="IS"), LEAD)
    api.ok(c.DesignateCoordinator(org_ref=SCHOOL, person_ref=COORD.person_ref), LEAD)
    opened = api.ok(c.RegisterContact(
        child_ref=CHILD, parent_refs=(MUM, DAD), birth_date=date(2008, 9, 15), municipality_ref="muni:reykjavik",
        coordinator_ref=COORD.person_ref, coordinator_org_ref=SCHOOL, life_stage="secondary",
        conflict_of_interest_declared_none=True, initiated_by="provider_guidance"), COORD)
    assert opened["version"] == 1
    return UUID(opened["case_id"])


ICELAND_TO_TEAM: list[Step] = [
    (2, COORD, lambda case: c.SignInformationSharingRequest(
        case_id=case, request_id="share-1", signatory_refs=(MUM,), source_provider_org_refs=(HEALTH,),
        target_refs=(COORD.person_ref,), form_doc_ref="doc:share-form-1")),
    (5, NURSE, lambda case: c.ShareInformationWithCoordinator(
        case_id=case, request_id="share-1", source_provider_org_ref=HEALTH, recipient_ref=COORD.person_ref,
        summary_doc_ref="doc:health-summary-1")),
    (7, COORD, lambda case: c.RecordContactWithFamily(
        case_id=case, offered_to=("parent", "child"), contact_refs=(MUM, CHILD), response="accepted")),
    (9, COORD, lambda case: c.RecordIntegrationRequest(
        case_id=case, request_id="request-1", requested_by_refs=(MUM, CHILD), requester_roles=("parent", "child"),
        written=True, form_doc_ref="doc:request-form-1")),
    (14, COORD, lambda case: c.RecordService(
        case_id=case, service_id="svc-1", provider_org_ref=SCHOOL, service_level=1,
        service_type_code="study_support", start_date=date(2024, 1, 22))),
    (24, COORD, lambda case: c.RecordService(
        case_id=case, service_id="svc-2", provider_org_ref=SOCIAL, service_level=3,
        service_type_code="family_support", start_date=date(2024, 2, 1))),
    (25, COORD, lambda case: c.NotifyNeedForCaseManager(case_id=case, municipality_ref="muni:reykjavik")),
    (30, LEAD, lambda case: c.AppointCaseManager(
        case_id=case, case_manager_ref=CM.person_ref, municipality_ref="muni:reykjavik", org_unit_ref=SOCIAL,
        needs_l2_l3_multilevel=True, long_term=True, works_in_social_services_or_area_of_needs=True)),
    (35, CM, lambda case: c.EstablishSupportTeam(case_id=case, team_id="team-1", members=(
        TeamMember("person:teacher-1", SCHOOL, MemberType.SERVICE_PROVIDER_REP),
        TeamMember(COORD.person_ref, SCHOOL, MemberType.COORDINATOR),
        TeamMember(CHILD, None, MemberType.CHILD)))),
]
ICELAND_REST: list[Step] = [
    (36, CM, lambda case: c.InviteGeneralServiceProvider(
        case_id=case, person_ref="person:coach-1", org_ref="org:sportsclub-1",
        necessity_justification_ref="doc:why-coach-1")),
    (37, CM, lambda case: c.InviteToTeamMeeting(
        case_id=case, meeting_id="meeting-1", invitee_refs=(MUM, DAD, CHILD, "person:teacher-1", COORD.person_ref),
        scheduled_for=date(2024, 2, 20))),
    (43, CM, lambda case: c.RecordTeamMeeting(
        case_id=case, meeting_id="meeting-1",
        attendee_refs=(MUM, CHILD, "person:teacher-1", COORD.person_ref, CM.person_ref),
        parents_attended=True, child_attended=True, minutes_doc_ref="doc:minutes-1")),
    (43, CM, lambda case: c.RecordChildViews(case_id=case, method="conversation", summary_doc_ref="doc:child-views-1")),
    (50, CM, lambda case: c.AdoptSupportPlan(case_id=case, plan_id="plan-1", content=PLAN)),
    (240, CM, lambda case: c.EvaluateSupportPlan(
        case_id=case, plan_id="plan-1", version=1, outcome="revise", progress_doc_ref="doc:progress-1",
        next_review_date=date(2025, 3, 1))),
    (245, CM, lambda case: c.ReviseSupportPlan(
        case_id=case, plan_id="plan-1", supersedes_version=1,
        content=SupportPlanContent(**{**PLAN.__dict__, "valid_to": date(2026, 8, 31),
                                                       "review_dates": (date(2025, 3, 1),)}))),
    (800, CM, lambda case: c.AdoptAdultTransitionPlan(
        case_id=case, plan_id="transition-1",
        adult_service_handovers=(AdultServiceHandover("org:adult-social-rvk", "case_worker"),),
        young_person_participated=True)),
    (950, CM, lambda case: c.ConcludeSupportTeam(case_id=case, outcome="goals_met",
                                                 justification_doc_ref="doc:closing-1")),
    (960, COORD, lambda case: c.RecordComplaint(
        case_id=case, complaint_id="gev-1", complainant_ref=MUM, complainant_capacity="user",
        subject="service_quality", external_ref="GEV-2026-17")),
]


def run_steps(api: Api, case_id: UUID, steps: list[Step], version: int) -> int:
    """Each step records its facts right after the previous ones: the new version and one event id a fact."""
    for day, actor, build in steps:
        result = api.ok(build(case_id), actor, day)
        recorded = len(result["event_ids"])
        assert recorded >= 1 and result["case_id"] == str(case_id)
        assert result["event_ids"] == [f"{case_id}:{v}" for v in range(version + 1, version + recorded + 1)]
        version += recorded
        assert result["version"] == version
    return version


# ---- lifecycles ---------------------------------------------------------------------------------------------
def test_iceland_lifecycle_over_http(api: Api) -> None:
    case_id = open_iceland_case(api)
    version = run_steps(api, case_id, ICELAND_TO_TEAM + ICELAND_REST, 1)
    assert version >= 1 + len(ICELAND_TO_TEAM) + len(ICELAND_REST)
    case = api.app.get_case(case_id)
    assert case.version == version
    assert [type(e).__name__ for e in api.app.events.get(case_id)][-1] == "ComplaintLodged"


def open_norway_case(api: Api) -> UUID:
    opened = api.ok(c.RequestBarnekoordinator(
        child_ref=NO_CHILD, parent_refs=(NO_MUM,), birth_date=date(2016, 5, 2), municipality_ref="muni:bodo",
        request_id="no-request-1", channel="oral", requested_by_ref=NO_MUM, family_status="child_under_18"), STAFF)
    return UUID(opened["case_id"])


NORWAY_STEPS: list[Step] = [
    (10, STAFF, lambda case: c.AssessEligibility(
        case_id=case, criteria=EligibilityCriteria(True, True, True), family_views_doc_ref="doc:family-views-1",
        child_views_doc_ref="doc:child-views-no-1")),
    (14, STAFF, lambda case: c.IssueDecision(
        case_id=case, decision_id="decision-1", decision="granted", written=True,
        justification_doc_ref="doc:decision-1", appeal_info_included=True,
        delivered_at=START + timedelta(days=15))),
    (16, STAFF, lambda case: c.RecordConsent(
        case_id=case, consent_id="consent-1", given_by_refs=(NO_MUM,),
        scope_service_org_refs=("org:school-bodo-1", "org:health-bodo-1"), form_doc_ref="doc:consent-1")),
    (18, STAFF, lambda case: c.AppointBarnekoordinator(
        case_id=case, coordinator_ref=BK.person_ref, unit_ref=UNIT, family_wishes_considered=True)),
    (25, BK, lambda case: c.IssueCoordinationInstruction(
        case_id=case, target_service_org_ref="org:school-bodo-1", instruction_type="meeting_attendance",
        detail_doc_ref="doc:instruction-1")),
    (40, BK, lambda case: c.AdoptIndividualPlan(case_id=case, plan_id="ip-1", content=IndividualPlanContent(
        goals_resources_and_needs_ref="doc:ip-goals", participants=(NO_MUM, NO_CHILD, BK.person_ref),
        responsible_for_coordination_ref="doc:ip-responsible", contributions_ref="doc:ip-contributions",
        measures_ref="doc:ip-measures", implementation_ref="doc:ip-implementation",
        plan_period_from=date(2024, 2, 15), plan_period_to=date(2025, 2, 14),
        revision_dates=(date(2024, 8, 15),), recipient_consent_to_plan=True, recipient_consent_to_sharing=True,
        cooperation_with_other_services_ref="doc:ip-cooperation"))),
    (299, STAFF, lambda case: c.IssueDecision(
        case_id=case, decision_id="decision-2", decision="terminated", written=True,
        justification_doc_ref="doc:decision-2", appeal_info_included=True,
        delivered_at=START + timedelta(days=300))),
    (310, STAFF, lambda case: c.ReceiveComplaint(
        case_id=case, complaint_id="klage-1", decision_id="decision-2", received_by_ref=UNIT)),
    (320, STAFF, lambda case: c.ReconsiderComplaint(
        case_id=case, complaint_id="klage-1", outcome="not_upheld", reasons_doc_ref="doc:reconsideration-1")),
    (321, STAFF, lambda case: c.ForwardComplaint(case_id=case, complaint_id="klage-1")),
    # The walkthrough records this as Statsforvalteren itself; over HTTP supervisors never write (§1.9), so the
    # municipality records the decision it received.
    (380, STAFF, lambda case: c.RecordStatsforvalterenDecision(
        case_id=case, complaint_id="klage-1", outcome="decision_reversed", doc_ref="doc:statsforvalteren-1")),
    (385, STAFF, lambda case: c.IssueDecision(
        case_id=case, decision_id="decision-3", decision="granted", written=True,
        justification_doc_ref="doc:decision-3", appeal_info_included=True,
        delivered_at=START + timedelta(days=386))),
]


def test_norway_lifecycle_over_http(api: Api) -> None:
    case_id = open_norway_case(api)
    version = run_steps(api, case_id, NORWAY_STEPS, 1)
    assert version >= 1 + len(NORWAY_STEPS) and version == api.app.get_case(case_id).version


# ---- problems -----------------------------------------------------------------------------------------------
def test_malformed_input_is_422_with_field_and_rule(api: Api) -> None:
    response = api.client.post("/v1/cases/iceland/contacts", headers=auth(COORD), json={
        "child_ref": "Jón Jónsson", "parent_refs": [], "birth_date": None, "municipality_ref": "muni:reykjavik",
        "coordinator_ref": COORD.person_ref, "coordinator_org_ref": SCHOOL, "life_stage": "secondary",
        "conflict_of_interest_declared_none": True, "unexpected": 1})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:prosperity:problem:invalid-request" and problem["status"] == 422
    fields = {e["field"]: e["rule"] for e in problem["errors"]}
    assert set(fields) == {"child_ref", "parent_refs", "unexpected"}
    assert "PRIV-1" in fields["child_ref"]
    assert "Traceback" not in response.text
    # Nested fields are named by their path; a body that is not JSON is the field "body".
    response = api.client.post(f"/v1/cases/{uuid4()}/support-team", headers=auth(CM), json={
        "team_id": "team-1", "members": [{"person_ref": "person:t-1", "org_ref": None, "member_type": "boss"}]})
    assert response.status_code == 422
    assert "members.0.member_type" in [e["field"] for e in response.json()["errors"]]
    response = api.client.post(f"/v1/cases/{uuid4()}/support-team", content=b"{oops",
                               headers={**auth(CM), "Content-Type": "application/json"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body"
    # A value the domain refuses as malformed (here the If-Match header) is a 422 with field and rule too.
    case_id = open_iceland_case(api)
    response = api.post(ICELAND_TO_TEAM[0][2](case_id), COORD, headers={"If-Match": "yesterday"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "If-Match"


def test_refused_rule_is_409_with_rule_id_and_nothing_stored(api: Api) -> None:
    case_id = open_iceland_case(api)
    version = run_steps(api, case_id, ICELAND_TO_TEAM, 1)
    before = api.stored_events()
    response = api.post(c.ConcludeSupportTeam(case_id=case_id, outcome="concluded_without_plan",
                                              justification_doc_ref=None), CM, 40)
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["rule_id"] == "IS-INV-6"
    assert problem["reason"] and problem["remedy"]
    assert api.stored_events() == before and api.app.get_case(case_id).version == version
    # Not found is a 404 problem.
    response = api.post(c.RecordChildViews(case_id=uuid4(), method="conversation", summary_doc_ref="doc:v"), CM)
    assert response.status_code == 404 and response.json()["type"].endswith("case-not-found")


def test_stale_if_match_is_409_with_current_version(api: Api) -> None:
    case_id = open_iceland_case(api)
    first = api.post(ICELAND_TO_TEAM[0][2](case_id), COORD, 2, headers={"If-Match": '"1"'})
    assert first.status_code == 200 and first.json()["version"] == 2
    before = api.stored_events()
    stale = api.post(c.RecordContactWithFamily(case_id=case_id, offered_to=("parent",), contact_refs=(MUM,),
                                               response="accepted"), COORD, 3, headers={"If-Match": '"1"'})
    assert stale.status_code == 409
    problem = stale.json()
    assert problem["type"].endswith("concurrency-conflict")
    assert (problem["current_version"], problem["expected_version"]) == (2, 1)
    assert stale.headers["ETag"] == '"2"'
    assert api.stored_events() == before


def test_idempotency_key_replays_the_first_result(api: Api) -> None:
    case_id = open_iceland_case(api)
    command = ICELAND_TO_TEAM[0][2](case_id)
    first = api.post(command, COORD, 2, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 200
    events = api.stored_events()
    again = api.post(command, COORD, 2, headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 200 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert api.stored_events() == events and api.app.get_case(case_id).version == 2
    # The same key with a different body is refused, and records nothing.
    other = c.SignInformationSharingRequest(case_id=case_id, request_id="share-2", signatory_refs=(MUM,),
                                            source_provider_org_refs=(HEALTH,), target_refs=(COORD.person_ref,),
                                            form_doc_ref="doc:share-form-2")
    reused = api.post(other, COORD, 2, headers={"Idempotency-Key": "k-1"})
    assert reused.status_code == 422 and reused.json()["type"].endswith("idempotency-key-reused")
    assert api.stored_events() == events
    # Keys belong to the caller: another person's k-1 is a new request.
    other_coordinator = Actor("person:coord-is-2", Role.COORDINATOR, SCHOOL)
    response = api.post(other, other_coordinator, 2, headers={"Idempotency-Key": "k-1"})
    assert response.status_code != 422


def test_concurrent_retries_with_one_key_record_once(api: Api) -> None:
    case_id = open_iceland_case(api)
    command = ICELAND_TO_TEAM[0][2](case_id)
    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda _: api.post(command, COORD, 2, headers={"Idempotency-Key": "race-1"}),
                                  range(4)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.text for r in responses}) == 1
    assert sum("Idempotent-Replayed" in r.headers for r in responses) == 3
    assert api.app.get_case(case_id).version == 2


def test_idempotent_retry_of_an_opening_command_returns_the_same_case(api: Api) -> None:
    open_iceland_case(api)
    command = c.RegisterContact(
        child_ref="person:child-is-9", parent_refs=(MUM,), birth_date=date(2008, 6, 1),
        municipality_ref="muni:reykjavik", coordinator_ref=COORD.person_ref, coordinator_org_ref=SCHOOL,
        life_stage="secondary", conflict_of_interest_declared_none=True)
    first = api.post(command, COORD, headers={"Idempotency-Key": "open-9"})
    again = api.post(command, COORD, headers={"Idempotency-Key": "open-9"})
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    plain_retry = api.post(command, COORD)
    assert plain_retry.status_code == 409 and plain_retry.json()["type"].endswith("already-exists")
    # that answer says the child has a case: who was told is in the read-access log, for IS supervisors
    svc = api.client.app.state.services  # type: ignore[attr-defined]
    (told,) = [row for row in svc.read_log.entries(jurisdiction="IS") if row["resource"] == "case_opening"]
    assert (told["subject"], told["outcome"], told["case_id"]) == (COORD.person_ref, "refused", None)
    assert not [row for row in svc.read_log.entries(jurisdiction="NO") if row["resource"] == "case_opening"]


# ---- identity and roles -------------------------------------------------------------------------------------
def _token(claims: dict[str, Any], secret: str | None = None) -> dict[str, str]:
    now = int(datetime.now(UTC).timestamp())
    base = {"sub": "person:cm-1", "role": "case_manager", "org": "org:social-1", "iss": SETTINGS.issuer,
            "aud": SETTINGS.audience,
            "iat": now, "exp": now + 60}
    key = secret or SETTINGS.jwt_secret.get_secret_value()
    return {"Authorization": f"Bearer {jwt.encode({**base, **claims}, key, algorithm='HS256')}"}


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic dXNlcjpwdw=="},
    _token({}, secret="another-secret-that-is-long-enough-for-hs256"), _token({"exp": 1}),
    _token({"iss": "someone-else"}), _token({"aud": "another-api"}), _token({"role": "king"}),
    _token({"sub": "Jón Jónsson"}),
], ids=["none", "garbage", "basic", "bad-signature", "expired", "issuer", "audience", "role", "sub"])
def test_missing_or_invalid_token_is_401(api: Api, headers: dict[str, str]) -> None:
    response = api.client.post(f"/v1/cases/{uuid4()}/child-views", headers=headers, json={})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_caller_without_the_relationship_is_403_naming_it_and_the_rule(api: Api) -> None:
    """Municipal staff of the child's municipality may see the case, but only its lead appoints a case manager."""
    case_id = open_iceland_case(api)
    events = api.stored_events()
    staff = Actor("person:staff-rvk-1", Role.MUNICIPAL_STAFF, "org:social-rvk", "muni:reykjavik")
    response = api.post(c.AppointCaseManager(
        case_id=case_id, case_manager_ref=CM.person_ref, municipality_ref="muni:reykjavik", org_unit_ref=SOCIAL,
        needs_l2_l3_multilevel=True, long_term=True, works_in_social_services_or_area_of_needs=True), staff)
    assert response.status_code == 403
    problem = response.json()
    assert problem["type"].endswith("relationship-missing") and problem["rule_id"] == "ACCESS-IS-R13"
    assert problem["required_relationships"] == ["domicile_lead"]
    assert problem["held_relationships"] == ["domicile_staff"]
    assert problem["operation"] == "AppointCaseManager" and problem["remedy"]
    assert api.stored_events() == events


def test_a_case_the_caller_may_not_see_answers_like_a_missing_one(api: Api) -> None:
    case_id = open_iceland_case(api)
    events = api.stored_events()
    stranger = Actor("person:coord-is-9", Role.COORDINATOR, "org:school-rvk-9")
    command = c.RecordChildViews(case_id=case_id, method="conversation", summary_doc_ref="doc:v")
    hidden = api.post(command, stranger)
    missing = api.post(c.RecordChildViews(case_id=uuid4(), method="conversation", summary_doc_ref="doc:v"), stranger)
    assert hidden.status_code == missing.status_code == 404
    assert set(hidden.json()) == set(missing.json())
    assert hidden.json()["type"] == missing.json()["type"] and hidden.json()["title"] == missing.json()["title"]
    drop = {"x-correlation-id", "content-length"}
    assert {k for k in hidden.headers if k not in drop} == {k for k in missing.headers if k not in drop}
    assert api.stored_events() == events


def test_a_token_lacking_the_claims_its_role_needs_is_401(api: Api) -> None:
    for claims in ({"role": "municipality_lead", "org": "org:town-hall-rvk"},  # no municipality
                   {"role": "coordinator", "org": None},  # no organisation
                   {"role": "supervisor", "org": "org:gev"}):  # no jurisdiction
        response = api.client.post(f"/v1/cases/{uuid4()}/child-views", headers=_token(claims), json={})
        assert response.status_code == 401, claims
        assert "ACCESS-TOKEN" in response.json()["detail"]


# ---- operations and the published contract ------------------------------------------------------------------
def test_health_ready_and_correlation_id(api: Api) -> None:
    assert api.client.get("/health").json() == {"status": "ok"}
    ready = api.client.get("/ready")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}
    assert UUID(ready.headers["X-Correlation-Id"]).version == 4  # generated
    case_id = open_iceland_case(api)
    response = api.post(ICELAND_TO_TEAM[0][2](case_id), COORD, 2, headers={"X-Correlation-Id": "req-abc-1"})
    assert response.headers["X-Correlation-Id"] == "req-abc-1"
    stored = list(api.app.events.get(case_id))[-1]
    assert stored.__dict__["ctx"].correlation_id == "req-abc-1"
    assert stored.__dict__["ctx"].actor == COORD


def test_one_log_line_per_request_names_the_route_and_what_was_recorded(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """services.api.request_log: the route's template (no case id in the route), the status, the caller's role and
    the command's case and version, on one line; the JSON API sets no session cookie (sessions are the pages')."""
    case_id = open_iceland_case(api)
    with structlog.testing.capture_logs() as logs:
        monkeypatch.setattr(request_log, "log", structlog.get_logger())  # a logger made under the capture
        response = api.post(ICELAND_TO_TEAM[0][2](case_id), COORD, 2, headers={"X-Correlation-Id": "req-log-1"})
    assert response.status_code == 200 and "set-cookie" not in response.headers
    lines = [entry for entry in logs if entry["event"] == "api.request"]
    assert len(lines) == 1, logs
    assert {k: lines[0].get(k) for k in ("method", "route", "status", "role", "case_id", "version")} == {
        "method": "POST", "route": PATHS[type(ICELAND_TO_TEAM[0][2](case_id))], "status": 200,
        "role": "coordinator", "case_id": str(case_id), "version": response.json()["version"]}
    assert lines[0]["command"] == type(ICELAND_TO_TEAM[0][2](case_id)).__name__


PURPOSE_HEADER = {"X-Purpose": "casework"}


def test_a_national_id_typed_into_a_url_is_in_no_log_line(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The request log names the route's template; a path no route matched is "(no route)", never the path."""
    case_id = open_iceland_case(api)
    with structlog.testing.capture_logs() as logs:
        monkeypatch.setattr(request_log, "log", structlog.get_logger())
        api.client.get(f"/v1/cases/{case_id}/people/person:1203884419", headers={**auth(COORD), **PURPOSE_HEADER})
        api.client.get("/v1/no-such-place/1203884419", headers=auth(COORD))
        api.client.get("/v1/cases/iceland", headers={**auth(COORD), "X-Correlation-Id": "120388-4419 x"})
    assert len(logs) >= 3 and "1203884419" not in repr(logs) and "120388-4419" not in repr(logs)
    assert "(no route)" in [entry.get("route") for entry in logs]


def test_openapi_publishes_every_command_with_its_models(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    commands = {m for m in vars(c).values() if isinstance(m, type) and issubclass(m, c.Command)} - {
        c.Command, c.CaseCommand, c.SubjectAccessRequest}  # the export answers with the export (routers/rights.py)
    assert {route.model for route in ROUTES} == commands
    for route in ROUTES:
        operation = spec["paths"][route.path]["post"]
        schema_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert schema_ref == f"#/components/schemas/{route.model.__name__}"
        ok = operation["responses"]["200" if route.on_case else "201"]
        assert ok["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/CommandResponse"
        assert {"401", "403", "409", "413", "422", "429"} <= set(operation["responses"])
        extension = operation["x-prosperity-access"]
        rules = access.rules_for_command(route.model.__name__)
        assert extension == {where: {"rule_id": rule.rule_id, "relationships": sorted(r.value for r in rule.may),
                                     "roles": sorted({role.value for r in rule.may for role in access.ROLES_OF[r]}),
                                     "basis": rule.basis} for where, rule in rules.items()}
        assert all(rule.rule_id in operation["description"] for rule in rules.values())
        problem = operation["responses"]["409"]["content"]["application/problem+json"]["schema"]
        assert problem == {"$ref": "#/components/schemas/Problem"}
    assert "/v1/cases/iceland/contacts" in spec["paths"] and "/v1/cases/{case_id}/services" in spec["paths"]
    assert "case_id" not in spec["components"]["schemas"]["RecordService"]["properties"]


class BrokenCasework(Casework):
    def record_child_views(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail")


def test_unexpected_error_is_500_problem_without_trace(pg_schema: PgTarget) -> None:
    app = BrokenCasework(pg_schema.eventsourcing_env())
    try:
        with TestClient(create_app(app, SETTINGS)) as client:
            response = client.post(f"/v1/cases/{uuid4()}/child-views", json={"method": "conversation",
                                                                              "summary_doc_ref": "doc:v"},
                                   headers={**auth(CM), "X-Correlation-Id": "c-500"})
    finally:
        app.close()
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["X-Correlation-Id"] == "c-500"
    assert "secret" not in response.text and "Traceback" not in response.text


# ---- issue 12: Norway after the decision, complaint grounds ------------------------------------------------
NO_DUTIES: list[Step] = [
    (30, BK, lambda case: c.RecordGuidanceGiven(
        case_id=case, topics=("health_and_care_services", "other_welfare_services"), given_to_refs=(NO_MUM,),
        summary_doc_ref="doc:guidance-1")),
    (31, BK, lambda case: c.CommunicateReferral(
        case_id=case, kind="referral", topic="patient_and_user_organisations", target_org_ref="org:ffo-nordland",
        summary_doc_ref="doc:referral-1")),
    (32, BK, lambda case: c.FollowUpWithService(
        case_id=case, target_service_org_ref="org:nav-bodo", purpose="assessment_sufficiency",
        detail_doc_ref="doc:follow-up-1")),
    (33, BK, lambda case: c.InitiateReassessment(
        case_id=case, target_service_org_ref="org:school-bodo-1", reason="needs_changed",
        detail_doc_ref="doc:reassessment-1")),
    (34, BK, lambda case: c.RecordFamilyViews(
        case_id=case, views_of_refs=(NO_CHILD,), method="conversation", summary_doc_ref="doc:views-1")),
    (35, BK, lambda case: c.LinkSpecialistCoordinator(
        case_id=case, specialist_coordinator_ref="person:nlsh-coordinator-1", health_trust_org_ref="org:nlsh")),
    (36, Actor(NO_MUM, Role.PARENT), lambda case: c.ReceiveComplaint(
        case_id=case, complaint_id="klage-duties", received_by_ref=UNIT, ground="right_not_fulfilled")),
]


def test_the_barnekoordinators_duties_and_a_complaint_of_the_right_not_fulfilled_over_http(api: Api) -> None:
    case_id = open_norway_case(api)
    version = run_steps(api, case_id, NORWAY_STEPS[:4] + NO_DUTIES, 1)
    names = [type(e).__name__ for e in api.app.events.get(case_id)][-len(NO_DUTIES):]
    assert names == ["CoordinatorGuidanceGiven", "ReferralCommunicated", "ServiceFollowedUp", "ReassessmentInitiated",
                     "FamilyViewsRecorded", "SpecialistCoordinatorLinked", "ComplaintReceived"]
    complaint: Any = list(api.app.events.get(case_id))[-1]
    assert (complaint.ground.value, complaint.decision_id) == ("right_not_fulfilled", "decision-1")

    before = api.stored_events()
    forbidden = api.post(c.FollowUpWithService(case_id=case_id, target_service_org_ref="org:nav-bodo",
                                               purpose="service_content", detail_doc_ref="doc:f-2"), BK, 40)
    assert forbidden.status_code == 409 and forbidden.json()["rule_id"] == "NO-R16"
    stranger = api.post(c.RecordFamilyViews(case_id=case_id, views_of_refs=("person:neighbour-1",),
                                            method="written", summary_doc_ref="doc:v-2"), BK, 40)
    assert stranger.status_code == 409 and stranger.json()["rule_id"] == "NO-R15"
    staff = api.post(NO_DUTIES[0][2](case_id), STAFF, 40)
    assert staff.status_code == 403 and staff.json()["rule_id"] == "ACCESS-NO-R15"
    unknown = api.client.post(f"/v1/cases/{case_id}/complaints", headers=auth(STAFF), json={
        "complaint_id": "klage-x", "received_by_ref": UNIT, "ground": "bad_weather"})
    assert unknown.status_code == 422 and [e["field"] for e in unknown.json()["errors"]] == ["ground"]
    assert api.stored_events() == before and api.app.get_case(case_id).version == version


def test_no_ordinary_coordinator_decided_within_the_days_after_18_is_complainable_over_http(api: Api) -> None:
    """Born 2006-03-01: 18 on day 53 of the story; ``LegalSettings.no_ordinary_coordinator_decision_days`` later
    the young person may complain though the municipality never decided."""
    opened = api.ok(c.RequestBarnekoordinator(
        child_ref="person:child-no-18", parent_refs=(NO_MUM,), birth_date=date(2006, 3, 1),
        municipality_ref="muni:bodo", request_id="no-request-18", channel="written", requested_by_ref=NO_MUM,
        family_status="child_under_18"), STAFF)
    case_id = UUID(opened["case_id"])
    run_steps(api, case_id, NORWAY_STEPS[:4], 1)
    system = Actor("person:system", Role.SYSTEM)
    api.ok(c.RecordMajority(case_id=case_id), system, 53)
    days = api.app.legal_settings.no_ordinary_coordinator_decision_days
    assert days is not None
    complaint = c.ReceiveComplaint(case_id=case_id, complaint_id="klage-18", received_by_ref=UNIT,
                                   ground="no_ordinary_coordinator_after_18")

    early = api.post(complaint, STAFF, 53 + days - 1)
    assert early.status_code == 409 and early.json()["rule_id"] == "NO-R9b"
    api.ok(complaint, STAFF, 53 + days)

    received: Any = list(api.app.events.get(case_id))[-1]
    assert type(received).__name__ == "ComplaintReceived" and received.decision_id == "decision-1"
