"""The attacks of issue 9, each tried again through the HTTP API over real PostgreSQL with ordinary tokens:
every one is refused, and the event store is byte for byte what it was before.

A case the attacker is not related to answers exactly like a case that does not exist (404); where the attacker
may see the case but not do the thing, the 403 names the rule and the missing relationship.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from contracts import commands as c
from contracts.mapping import PUBLISHED_TOPICS
from domain.case import natural_key_id
from domain.values import Actor, EligibilityCriteria, Jurisdiction, Role
from services.api.app import create_app
from services.casework.application import Casework
from services.infra.postgres_env import PgTarget
from tests.integration.test_api_commands import (
    CHILD,
    CM,
    COORD,
    DAD,
    ICELAND_TO_TEAM,
    LEAD,
    MUM,
    NO_MUM,
    SCHOOL,
    SETTINGS,
    SOCIAL,
    STAFF,
    Api,
    Clock,
    _token,
    auth,
    open_iceland_case,
    open_norway_case,
    run_steps,
)
from tests.integration.test_api_queries import SUPERVISOR, build_read_models, get

PURPOSE = {"X-Purpose": "casework"}
OTHER_PARENT = Actor("person:parent-other-family", Role.PARENT)
AKUREYRI_COORD = Actor("person:coord-aku-1", Role.COORDINATOR, "org:school-aku-1")
OTHER_CM = Actor("person:cm-other-1", Role.CASE_MANAGER, "org:social-aku")
AKUREYRI_LEAD = Actor("person:lead-aku", Role.MUNICIPALITY_LEAD, "org:town-hall-aku", "muni:akureyri")
TROMSO_STAFF = Actor("person:staff-tromso-1", Role.MUNICIPAL_STAFF, "org:koordinerende-enhet-tromso", "muni:tromso")


def store_bytes(app: Casework) -> list[tuple[Any, ...]]:
    return [(n.id, n.originator_id, n.originator_version, n.topic, bytes(n.state))
            for n in app.recorder.select_notifications(start=None, limit=10**6)]


@pytest.fixture
def api(pg_schema: PgTarget) -> Iterator[Api]:
    clock = Clock()
    app = Casework(pg_schema.eventsourcing_env(), clock=clock)
    try:
        with TestClient(create_app(app, SETTINGS)) as client:
            yield Api(client, app, clock)
    finally:
        app.close()


@pytest.fixture
def team_case(api: Api) -> UUID:
    case_id = open_iceland_case(api)
    run_steps(api, case_id, ICELAND_TO_TEAM, 1)
    return case_id


def refused_like_a_missing_case(api: Api, command: c.CaseCommand, attacker: Actor) -> None:
    before = store_bytes(api.app)
    response = api.post(command, attacker)
    missing = api.post(command.model_copy(update={"case_id": uuid4()}), attacker)
    assert response.status_code == missing.status_code == 404, response.text
    assert response.json()["type"] == missing.json()["type"] == "urn:prosperity:problem:case-not-found"
    assert store_bytes(api.app) == before


# ---- family commands in another family's name ----------------------------------------------------------------
def test_an_unrelated_parent_cannot_withdraw_another_familys_request(api: Api, team_case: UUID) -> None:
    refused_like_a_missing_case(api, c.WithdrawIntegrationRequest(
        case_id=team_case, request_id="request-1", withdrawn_by_ref=MUM), OTHER_PARENT)
    assert api.app.get_case(team_case).request_active  # type: ignore[attr-defined]


def test_a_parent_cannot_withdraw_in_the_other_parents_name(api: Api, team_case: UUID) -> None:
    before = store_bytes(api.app)
    response = api.post(c.WithdrawIntegrationRequest(case_id=team_case, request_id="request-1",
                                                     withdrawn_by_ref=MUM), Actor(DAD, Role.PARENT))
    assert response.status_code == 403 and response.json()["rule_id"] == "ACCESS-SELF"
    assert "withdrawn_by_ref" in response.json()["detail"]
    assert store_bytes(api.app) == before


def test_an_unrelated_parent_cannot_withdraw_another_familys_consent(api: Api) -> None:
    case_id = open_norway_case(api)
    run_steps(api, case_id, [
        (10, STAFF, lambda case: c.AssessEligibility(
            case_id=case, criteria=EligibilityCriteria(True, True, True), family_views_doc_ref="doc:f",
            child_views_doc_ref="doc:c")),
        (16, STAFF, lambda case: c.RecordConsent(case_id=case, consent_id="consent-1", given_by_refs=(NO_MUM,),
                                                 form_doc_ref="doc:consent-1")),
    ], 1)
    refused_like_a_missing_case(api, c.WithdrawConsent(case_id=case_id, consent_id="consent-1",
                                                       withdrawn_by_ref=NO_MUM), OTHER_PARENT)
    assert api.app.get_case(case_id).consent_active  # type: ignore[attr-defined]


def test_an_unrelated_parent_cannot_lodge_a_complaint_in_another_familys_name(api: Api, team_case: UUID) -> None:
    refused_like_a_missing_case(api, c.RecordComplaint(
        case_id=team_case, complaint_id="gev-x", complainant_ref=MUM, complainant_capacity="user",
        subject="service_quality"), OTHER_PARENT)
    before = store_bytes(api.app)
    in_her_name = api.post(c.RecordComplaint(case_id=team_case, complaint_id="gev-x", complainant_ref=MUM,
                                             complainant_capacity="user", subject="service_quality"),
                           Actor(DAD, Role.PARENT))
    assert in_her_name.status_code == 403 and in_her_name.json()["rule_id"] == "ACCESS-SELF"
    assert store_bytes(api.app) == before


# ---- staff of the wrong case or municipality --------------------------------------------------------------------
def test_a_coordinator_of_another_municipality_cannot_touch_services_or_the_childs_views(
        api: Api, team_case: UUID) -> None:
    for command in (c.RecordService(case_id=team_case, service_id="svc-x", provider_org_ref="org:school-aku-1",
                                    service_level=2, service_type_code="x", start_date=date(2024, 2, 1)),
                    c.EndService(case_id=team_case, service_id="svc-1", end_date=date(2024, 2, 2)),
                    c.RecordChildViews(case_id=team_case, method="conversation", summary_doc_ref="doc:views-x")):
        refused_like_a_missing_case(api, command, AKUREYRI_COORD)


def test_an_unrelated_case_manager_cannot_move_a_childs_domicile(api: Api, team_case: UUID) -> None:
    refused_like_a_missing_case(api, c.ChangeDomicile(case_id=team_case, to_municipality_ref="muni:akureyri"),
                                OTHER_CM)
    assert api.app.get_case(team_case).municipality_ref == "muni:reykjavik"


def test_staff_of_another_kommune_cannot_assess_eligibility(api: Api) -> None:
    case_id = open_norway_case(api)
    refused_like_a_missing_case(api, c.AssessEligibility(
        case_id=case_id, criteria=EligibilityCriteria(True, True, True), family_views_doc_ref="doc:f",
        child_views_doc_ref="doc:c"), TROMSO_STAFF)


def test_a_lead_of_another_municipality_cannot_appoint_a_case_manager_who_then_reads(api: Api) -> None:
    case_id = open_iceland_case(api)
    run_steps(api, case_id, ICELAND_TO_TEAM[:7], 1)  # up to the notice that a case manager is needed
    chosen = Actor("person:cm-chosen-by-akureyri", Role.CASE_MANAGER, "org:social-aku")
    refused_like_a_missing_case(api, c.AppointCaseManager(
        case_id=case_id, case_manager_ref=chosen.person_ref, municipality_ref="muni:reykjavik",
        org_unit_ref=SOCIAL, needs_l2_l3_multilevel=True, long_term=True,
        works_in_social_services_or_area_of_needs=True), AKUREYRI_LEAD)
    assert get(api, f"/v1/cases/{case_id}", chosen, PURPOSE).status_code == 404
    # The lead of the child's municipality may; the body's municipality decides nothing.
    assert api.post(c.AppointCaseManager(
        case_id=case_id, case_manager_ref=CM.person_ref, municipality_ref="muni:reykjavik", org_unit_ref=SOCIAL,
        needs_l2_l3_multilevel=True, long_term=True, works_in_social_services_or_area_of_needs=True),
        LEAD, 30).status_code == 200


# ---- dashboards and the read-access log -------------------------------------------------------------------------
def test_a_lead_token_without_a_municipality_reads_no_dashboard(api: Api, team_case: UUID,
                                                                 pg_schema: PgTarget) -> None:
    build_read_models(api, pg_schema)
    bare = _token({"sub": "person:lead-bare", "role": "municipality_lead", "org": "org:town-hall-x"})
    for path in ("services-by-level", "transition-watch", "caseload", "plans-due", "national"):
        response = api.client.get(f"/v1/dashboards/{path}", headers=bare)
        assert response.status_code == 401 and "ACCESS-TOKEN" in response.json()["detail"], path
    # A lead with a municipality sees only its own rows, and each row-level row read is logged.
    rows = get(api, "/v1/dashboards/caseload", AKUREYRI_LEAD).json()
    assert rows == []
    assert get(api, "/v1/dashboards/caseload", AKUREYRI_LEAD, municipality_ref="muni:reykjavik").status_code == 403


def test_a_refused_read_leaves_a_trace(api: Api, team_case: UUID) -> None:
    other = open_norway_case(api)
    response = get(api, f"/v1/cases/{other}", Actor(MUM, Role.PARENT), PURPOSE)
    assert response.status_code == 404
    statsforvalter = Actor("person:sf-1", Role.SUPERVISOR, "org:sf", jurisdiction=Jurisdiction.NORWAY)
    log = get(api, "/v1/audit/read-log", statsforvalter, case_id=str(other)).json()
    assert [(r["subject"], r["outcome"]) for r in log] == [(MUM, "refused")]


def test_no_existence_oracle(api: Api, team_case: UUID) -> None:
    """Case ids are random: nobody can compute one from a child's ref; unknown and foreign ids answer alike."""
    assert team_case.version == 4
    computed = natural_key_id(Jurisdiction.ICELAND, CHILD, 1)
    assert computed != team_case
    stranger = Actor("person:coord-is-9", Role.COORDINATOR, "org:school-rvk-9")
    answers = [get(api, f"/v1/cases/{case}", stranger, PURPOSE) for case in (team_case, uuid4(), computed)]
    assert {a.status_code for a in answers} == {404}
    assert len({a.json()["type"] for a in answers}) == 1 and len({a.json()["title"] for a in answers}) == 1
    assert len({tuple(sorted(k for k in a.headers if k != "x-correlation-id")) for a in answers}) == 1


def test_a_supervisor_reads_only_its_own_jurisdictions_read_log(api: Api, team_case: UUID) -> None:
    assert get(api, f"/v1/cases/{team_case}", COORD, PURPOSE).status_code == 200
    norway = Actor("person:sf-1", Role.SUPERVISOR, "org:sf", jurisdiction=Jurisdiction.NORWAY)
    assert get(api, "/v1/audit/read-log", norway, case_id=str(team_case)).json() == []
    assert len(get(api, "/v1/audit/read-log", SUPERVISOR, case_id=str(team_case)).json()) == 1


# ---- the edge ----------------------------------------------------------------------------------------------------
@pytest.fixture
def tight(pg_schema: PgTarget) -> Iterator[Api]:
    """An API with a 64 KiB body limit and a rate of 20 requests a minute per caller."""
    clock = Clock()
    app = Casework(pg_schema.eventsourcing_env(), clock=clock)
    settings = SETTINGS.model_copy(update={"max_body_bytes": 65_536, "rate_limit": "20/minute"})
    try:
        with TestClient(create_app(app, settings)) as client:
            yield Api(client, app, clock)
    finally:
        app.close()


def test_a_large_body_is_413_before_it_is_parsed_also_when_chunked(tight: Api) -> None:
    before = store_bytes(tight.app)
    big = b'{"child_ref": "' + b"x" * 2_000_000 + b'"}'
    declared = tight.client.post("/v1/cases/iceland/contacts", content=big,
                                 headers={**auth(COORD), "Content-Type": "application/json"})
    assert declared.status_code == 413 and declared.json()["type"].endswith("body-too-large")
    assert declared.headers["content-type"] == "application/problem+json"

    def chunks() -> Iterator[bytes]:
        yield b'{"child_ref": "'
        for _ in range(64):
            yield b"x" * 65_536
        yield b'"}'

    chunked = tight.client.post("/v1/cases/iceland/contacts", content=chunks(),
                                headers={**auth(LEAD), "Content-Type": "application/json"})
    assert chunked.status_code == 413
    assert store_bytes(tight.app) == before


def test_a_caller_over_the_rate_is_429_with_retry_after(tight: Api) -> None:
    token = auth(COORD)  # one token: a token minted in the next second is another caller key (iat differs)
    statuses = [tight.client.get(f"/v1/institutions/{SCHOOL}", headers=token).status_code for _ in range(22)]
    assert statuses[:20] == [404] * 20 and statuses[20:] == [429, 429]
    limited = tight.client.get(f"/v1/institutions/{SCHOOL}", headers=token)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["type"].endswith("rate-limited")
    # another caller has its own allowance
    assert tight.client.get(f"/v1/institutions/{SCHOOL}", headers=auth(CM)).status_code == 404


def test_a_new_invented_token_each_time_does_not_escape_the_rate(tight: Api) -> None:
    """Each invented token string was a fresh allowance: refused tokens count against the client's address."""
    statuses = [tight.client.get(f"/v1/institutions/{SCHOOL}",
                                 headers={"Authorization": f"Bearer garbage-{uuid4()}"}).status_code
                for _ in range(22)]
    assert statuses[:20] == [401] * 20 and statuses[20:] == [429, 429]
    limited = tight.client.get(f"/v1/institutions/{SCHOOL}", headers={"Authorization": f"Bearer {uuid4()}"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    # while the address is over its refused tokens, a token it has not used yet waits too ...
    assert tight.client.get(f"/v1/institutions/{SCHOOL}", headers=auth(CM)).status_code == 429


def test_invented_tokens_from_a_shared_address_do_not_lock_out_a_working_token(tight: Api) -> None:
    """Behind one NAT or ingress, a flood of invented tokens must not stop a caller whose token works."""
    working = auth(COORD)
    assert tight.client.get(f"/v1/institutions/{SCHOOL}", headers=working).status_code == 404  # accepted: known
    flood = [tight.client.get(f"/v1/institutions/{SCHOOL}", headers={"Authorization": f"Bearer x-{uuid4()}"})
             for _ in range(22)]
    assert [r.status_code for r in flood][-2:] == [429, 429]
    assert tight.client.get(f"/v1/institutions/{SCHOOL}", headers=working).status_code == 404


def test_every_response_says_no_store_and_nosniff(api: Api, team_case: UUID) -> None:
    for response in (get(api, f"/v1/cases/{team_case}", COORD, PURPOSE), get(api, f"/v1/cases/{uuid4()}", COORD,
                                                                              PURPOSE),
                     api.client.get("/health"), api.post(ICELAND_TO_TEAM[0][2](team_case), COORD, 3)):
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_an_institution_or_natural_key_id_is_no_case(api: Api, team_case: UUID, pg_schema: PgTarget) -> None:
    build_read_models(api, pg_schema)
    institution = api.app.get_institution(SCHOOL).id
    key = natural_key_id(Jurisdiction.ICELAND, CHILD, 1)
    for other in (institution, key):
        assert get(api, f"/v1/cases/{other}", COORD, PURPOSE).status_code == 404
        assert get(api, f"/v1/audit/cases/{other}/as-of", SUPERVISOR, {"X-Purpose": "supervision"},
                   at="2024-02-01T00:00:00Z").status_code == 404
        assert get(api, f"/v1/audit/cases/{other}/trail", SUPERVISOR, {"X-Purpose": "supervision"}).status_code == 404
    published = {n.originator_id for n in api.app.recorder.select_notifications(start=None, limit=10**6,
                                                                                 topics=PUBLISHED_TOPICS)}
    assert key not in published  # the natural key is never published


def test_a_body_that_is_not_declared_json_is_415_and_stores_nothing(api: Api) -> None:
    before = store_bytes(api.app)
    body = b'{"child_ref": "person:child-x"}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {**auth(COORD), **({"Content-Type": content_type} if content_type else {})}
        refused = api.client.post("/v1/cases/iceland/contacts", content=body, headers=headers)
        assert refused.status_code == 415, (content_type, refused.text)
        assert refused.json()["type"].endswith("unsupported-media-type")
    declared = api.client.post("/v1/cases/iceland/contacts", content=body,
                               headers={**auth(COORD), "Content-Type": "application/json; charset=utf-8"})
    assert declared.status_code == 422  # read as JSON, and refused for what it lacks
    assert store_bytes(api.app) == before


def test_head_answers_as_get_without_the_body(api: Api, team_case: UUID) -> None:
    """HEAD wherever GET is (RFC 9110 §9.3.2), decided and logged as the GET it stands for; no body."""
    health = api.client.head("/health")
    assert health.status_code == 200 and health.content == b""
    assert health.headers["content-length"] == api.client.get("/health").headers["content-length"]
    svc = api.client.app.state.services  # type: ignore[attr-defined]
    before = len(svc.read_log.entries(limit=100_000))
    case = api.client.head(f"/v1/cases/{team_case}", headers={**auth(COORD), **PURPOSE})
    assert case.status_code == 200 and case.content == b"" and case.headers["ETag"]
    stranger = api.client.head(f"/v1/cases/{team_case}", headers={**auth(OTHER_CM), **PURPOSE})
    assert stranger.status_code == 404 and stranger.content == b""
    assert len(svc.read_log.entries(limit=100_000)) == before + 2  # both reads are in the read-access log
    assert api.client.head("/v1/cases/iceland/contacts", headers=auth(COORD)).status_code == 405
