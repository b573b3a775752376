"""``prosperity demo``: a realistic, deterministic synthetic population, recorded THROUGH THE HTTP API.

Everything goes through the public API a municipality's systems would use (``httpx`` with a development token
per acting person and role): municipalities in Iceland and Norway register their preschools, schools and health
centres and designate their coordinators; then children of all ages get cases that stop at every stage of both
lifecycles (first contact only, information shared, request for integration, first-level plan, case manager,
support team, support plan, evaluation, adult transition plan, conclusion with goals met or without a plan,
complaints to GEV; in Norway request, assessment, granted or refused decision, consent, barnekoordinator,
individual plan, termination, and complaints through reconsideration to Statsforvalteren).

The same ``--seed`` gives the same population, spread over two years of simulated time: each case's episode
starts on a day drawn uniformly from the last ~700 days, and each of its steps is posted with the API's
``Occurred-At`` header at that start plus the step's offset (later steps later, never in the future: a step that
would fall after now is recorded a moment before now, still in order). The law's clock runs beside the demo in real
time: when it has recorded a deadline on a case meanwhile, the case's remaining steps are recorded at the API's now
(a late entry may not go back before a case's latest fact). The dates inside the facts (service
starts, plan periods, reviews, decision delivery) follow the same timeline, and birth dates are chosen so the
child is a minor, of the intended age and life stage, at every step. Notification recipients (e-mail addresses
are personal data and never travel in events) are put into the notifier's directory, their addresses sealed in the
personal-data vault, so notices reach the mail catcher; each family's synthetic names, national ID numbers and
contact details (:mod:`services.demo_people`) go into the vault through the API, entered by the parents.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from pydantic import BaseModel

from contracts import commands as c
from domain.farsaeld import COORDINATOR_INSTITUTION
from domain.life_stage import derive_life_stage
from domain.values import (
    AdultServiceHandover,
    EligibilityCriteria,
    IndividualPlanContent,
    LifeStage,
    MemberType,
    ProviderRole,
    SupportPlanContent,
    TeamMember,
)

MUNICIPALITIES: dict[str, tuple[str, ...]] = {
    "IS": ("muni:reykjavik", "muni:kopavogur", "muni:akureyri"),
    "NO": ("muni:bodo", "muni:tromso", "muni:bergen"),
}
INSTITUTIONS = ("preschool", "primary_school", "secondary_school", "health_centre")
ICELAND_STAGES = ("contact", "info_shared", "requested", "level1_plan", "case_manager", "team", "plan",
                  "evaluated", "transition", "age_out", "goals_met", "without_plan", "complaint")
NORWAY_STAGES = ("requested", "assessed", "granted", "refused_appealed", "consented", "appointed", "planned",
                 "terminated_appealed", "closed")


class DemoError(Exception):
    """The API refused a step: says which, with the problem it answered."""


class LateEntryRefused(DemoError):
    """The case has a fact later than the step's ``Occurred-At`` (TIME-1): the law's clock, running beside the
    demo in real time, recorded a deadline the simulated history had already passed."""


@dataclass(frozen=True)
class Who:
    """An acting person with the claims the access model decides by: their organisation, and for leads and
    municipal staff the municipality they act for (so each actor is related to the cases it acts on)."""

    person: str
    role: str
    org: str | None = None
    muni: str | None = None


class Api:
    """POSTs commands as a given person and role (a token minted per identity, cached)."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        from services.api.settings import ApiSettings

        self.settings = ApiSettings()
        self.client = httpx.Client(base_url=base_url, timeout=timeout)
        self._tokens: dict[Who, str] = {}
        self.requests = 0
        self.caught_up_by_clock: set[UUID] = set()
        """Cases whose remaining steps are recorded at the API's now (see :meth:`on_case`)."""

    def token(self, who: Who) -> str:
        from services.api.identity import mint_token

        if who not in self._tokens:
            self._tokens[who] = mint_token(self.settings, person_ref=who.person, role=who.role, org_ref=who.org,
                                           municipality_ref=who.muni, ttl_seconds=24 * 3600)
        return self._tokens[who]

    def post(self, path: str, command: BaseModel, who: Who, *, allow_conflict: bool = False,
             at: datetime | None = None) -> dict[str, Any] | None:
        """POST ``command``; ``at`` is when the fact happened (the ``Occurred-At`` header), else the API's now."""
        body = command.model_dump(mode="json", exclude={"case_id"})
        self.requests += 1
        headers = {"Authorization": f"Bearer {self.token(who)}"}
        if at is not None:
            headers["Occurred-At"] = at.isoformat()
        response = self.client.post(path, json=body, headers=headers)
        if response.status_code == 409 and allow_conflict:
            return None
        if response.status_code >= 400:
            refused = LateEntryRefused if at is not None and response.status_code == 422 and "TIME-1" in \
                response.text else DemoError
            raise refused(f"POST {path} as {who.role} answered {response.status_code}: {response.text}")
        result: dict[str, Any] = response.json()
        return result

    def put(self, path: str, body: dict[str, Any], who: Who) -> int:
        """PUT ``body`` (the vault's routes); the status (404: that person is not on the case)."""
        self.requests += 1
        response = self.client.put(path, json=body, headers={"Authorization": f"Bearer {self.token(who)}"})
        if response.status_code >= 400 and response.status_code != 404:
            raise DemoError(f"PUT {path} as {who.role} answered {response.status_code}: {response.text}")
        return response.status_code

    def on_case(self, case_id: UUID, suffix: str, command: BaseModel, who: Who, at: datetime | None = None) -> None:
        """A step of the case's history, recorded ``at`` (its simulated time). A case the clock has meanwhile
        recorded a fact on (a deadline its simulated history had passed) goes on at the API's now from that step:
        a late entry may not go back before a case's latest fact (TIME-1)."""
        path = f"/v1/cases/{case_id}{suffix}"
        if case_id in self.caught_up_by_clock:
            at = None
        try:
            self.post(path, command, who, at=at)
        except LateEntryRefused:
            self.caught_up_by_clock.add(case_id)
            self.post(path, command, who)

    def close(self) -> None:
        self.client.close()


def _slug(ref: str) -> str:
    return ref.split(":", 1)[1]


class Timeline:
    """One episode's simulated time: it starts uniformly in the last ``span_days``; each step comes a random
    number of days after the previous one, and is recorded then, or (had it been in the future) a moment before
    now, always strictly after the previous step."""

    def __init__(self, rng: random.Random, now: datetime, span_days: int = 700) -> None:
        self.rng = rng
        self.cap = now - timedelta(minutes=1)
        self.start = self.cap - timedelta(days=rng.uniform(0, span_days))
        self.offset = 0.0
        """Days since the start of the current step (unclamped)."""
        self.last = self.start

    @property
    def start_day(self) -> date:
        return self.start.date()

    def day(self, days_later: float = 0.0) -> date:
        """The date ``days_later`` after the current step (for the dates inside a fact)."""
        return (self.start + timedelta(days=self.offset + days_later)).date()

    def step(self, low: float, high: float) -> datetime:
        """The next step: ``low``..``high`` days after the previous one; when it is recorded."""
        self.offset += self.rng.uniform(low, high)
        when = min(self.start + timedelta(days=self.offset), self.cap)
        self.last = max(when, self.last + timedelta(seconds=1))
        return self.last


class Population:
    """The deterministic plan of the demo: who is who, where, and how far each case goes."""

    def __init__(self, seed: int, now: datetime) -> None:
        self.rng = random.Random(seed)
        self.seed, self.now = seed, now
        self.recipients: dict[str, str] = {}
        """ref → language, for the notifier's directory."""

    def lead(self, muni: str) -> Who:
        return Who(f"person:lead-{_slug(muni)}", "municipality_lead", f"org:town-hall-{_slug(muni)}", muni)

    def org(self, muni: str, kind: str) -> str:
        return f"org:{kind.replace('_', '-')}-{_slug(muni)}"

    def coordinator(self, muni: str, kind: str) -> str:
        return f"person:coord-{kind.replace('_', '-')}-{_slug(muni)}"

    def birth_date(self, age_years: int, on: date, minor_for_days: int) -> date:
        """A birth date giving about ``age_years`` on ``on``, and a minor for ``minor_for_days`` more days (the
        episode's longest possible span): a child who would turn 18 before that is born later instead."""
        born = on - timedelta(days=age_years * 365 + self.rng.randint(15, 300))
        return max(born, _eighteen_years_before(on + timedelta(days=minor_for_days + 1)))

    def timeline(self) -> Timeline:
        return Timeline(self.rng, self.now)

    def remember(self, ref: str, language: str) -> None:
        self.recipients.setdefault(ref, language)


def register_directory(api: Api, pop: Population) -> None:
    for jurisdiction, munis in MUNICIPALITIES.items():
        for muni in munis:
            lead = pop.lead(muni)
            for kind in (*INSTITUTIONS, "social_services"):
                org = pop.org(muni, kind)
                api.post("/v1/institutions", c.RegisterInstitution(
                    org_ref=org, institution_type=kind, municipality_ref=muni, jurisdiction=jurisdiction), lead,
                    allow_conflict=True)
                if kind in INSTITUTIONS:
                    api.post("/v1/institutions/coordinators", c.DesignateCoordinator(
                        org_ref=org, person_ref=pop.coordinator(muni, kind)), lead, allow_conflict=True)


def _eighteen_years_before(day: date) -> date:
    """The birth date whose 18th birthday is ``day`` (29 February counts as 28 February)."""
    return date(day.year - 18, day.month, min(day.day, 28)) + timedelta(days=max(day.day - 28, 0))


def _age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


ICELAND_SPAN = {"contact": 10, "info_shared": 20, "requested": 40, "level1_plan": 60, "case_manager": 110,
                "team": 160, "without_plan": 180, "plan": 200, "evaluated": 460, "transition": 530,
                "age_out": 600, "goals_met": 680, "complaint": 820}
"""The longest an Icelandic episode up to each stage can last (days): the sum of the steps' longest gaps."""
NORWAY_SPAN = 470
"""The longest a Norwegian episode can last (days)."""


def _life_stage(born: date, on: date) -> tuple[str, str]:
    """(life stage, the institution whose coordinator is the first contact): the stage the birth date gives
    (``domain.life_stage``, LIFE-1); a child under school age past its first year is taken to be in preschool."""
    stage = derive_life_stage(born, on)
    if stage is LifeStage.INFANT and _age_on(born, on) >= 1:
        stage = LifeStage.PRESCHOOL
    return stage.value, COORDINATOR_INSTITUTION[stage].value


def iceland_case(api: Api, pop: Population, index: int, stage: str) -> UUID | None:
    """One Icelandic episode up to ``stage``; None when it was already recorded (same seed)."""
    rng, t = pop.rng, pop.timeline()
    muni = rng.choice(MUNICIPALITIES["IS"])
    if stage in ("transition", "age_out"):  # turns 18 a little after the episode's last step
        born = _eighteen_years_before(t.start_day + timedelta(days=ICELAND_SPAN[stage] + rng.randint(1, 120)))
    else:
        born = pop.birth_date(rng.randint(0, 17), t.start_day, ICELAND_SPAN[stage])
    age = _age_on(born, t.start_day)
    life_stage, kind = _life_stage(born, t.start_day)
    org, coord = pop.org(muni, kind), pop.coordinator(muni, kind)
    tag = f"s{pop.seed}-is-{index:04d}"
    child, mum, dad = f"person:child-{tag}", f"person:parent-{tag}-a", f"person:parent-{tag}-b"
    parents = (mum, dad) if rng.random() < 0.7 else (mum,)
    cm, social, health = f"person:cm-{_slug(muni)}-{rng.randint(1, 4)}", pop.org(muni, "social_services"), \
        pop.org(muni, "health_centre")
    for ref in (*parents, coord, cm, muni, f"person:teacher-{tag}", *((child,) if age >= 12 else ())):
        pop.remember(ref, "is")
    as_coord, as_cm, as_lead = Who(coord, "coordinator", org), Who(cm, "case_manager", social), pop.lead(muni)
    opened = api.post("/v1/cases/iceland/contacts", c.RegisterContact(
        child_ref=child, parent_refs=parents, birth_date=born, municipality_ref=muni,
        coordinator_ref=coord, coordinator_org_ref=org, life_stage=life_stage, conflict_of_interest_declared_none=True,
        initiated_by=rng.choice(["provider_guidance", "parent", "child"]), episode=1), as_coord, allow_conflict=True,
        at=t.step(0, 0))
    if opened is None:
        return None
    case_id = UUID(opened["case_id"])
    order = ICELAND_STAGES
    reach = order.index(stage)

    def past(name: str) -> bool:
        return reach >= order.index(name)

    if not past("info_shared"):
        return case_id
    api.on_case(case_id, "/information-sharing-requests", c.SignInformationSharingRequest(
        case_id=case_id, request_id="share-1", signatory_refs=(mum,), source_provider_org_refs=(health,),
        target_refs=(coord,), form_doc_ref=f"doc:share-form-{tag}"), as_coord, at=t.step(1, 3))
    api.on_case(case_id, "/information-shares", c.ShareInformationWithCoordinator(
        case_id=case_id, request_id="share-1", source_provider_org_ref=health, recipient_ref=coord,
        summary_doc_ref=f"doc:health-summary-{tag}"),
        Who(f"person:nurse-{_slug(muni)}", "service_provider_rep", health), at=t.step(1, 5))
    if not past("requested"):
        return case_id
    requesters = (mum, child) if age >= 12 else (mum,)
    api.on_case(case_id, "/family-contacts", c.RecordContactWithFamily(
        case_id=case_id, offered_to=("parent", "child") if age >= 12 else ("parent",),
        contact_refs=requesters, response="accepted"), as_coord, at=t.step(1, 4))
    api.on_case(case_id, "/integration-requests", c.RecordIntegrationRequest(
        case_id=case_id, request_id="request-1", requested_by_refs=requesters,
        requester_roles=("parent", "child") if age >= 12 else ("parent",), written=True,
        form_doc_ref=f"doc:request-form-{tag}"), as_coord, at=t.step(1, 5))
    at = t.step(2, 10)
    service_start = t.day(rng.randint(0, 14))
    api.on_case(case_id, "/services", c.RecordService(
        case_id=case_id, service_id="svc-1", provider_org_ref=org, service_level=1,
        service_type_code=rng.choice(["study_support", "speech_therapy", "early_intervention"]),
        start_date=service_start), as_coord, at=at)
    if not past("level1_plan"):
        return case_id
    at = t.step(3, 14)
    api.on_case(case_id, "/level1-plans", c.RecordLevel1Plan(
        case_id=case_id, objective_refs=(f"doc:objective-{tag}",), responsible_org_refs=(org,),
        follow_up_date=t.day(rng.randint(30, 120))), as_coord, at=at)
    if not past("case_manager"):
        return case_id
    at = t.step(5, 20)
    api.on_case(case_id, "/services", c.RecordService(
        case_id=case_id, service_id="svc-2", provider_org_ref=social, service_level=rng.choice([2, 3]),
        service_type_code="family_support", start_date=t.day(rng.randint(0, 14))), as_coord, at=at)
    api.on_case(case_id, "/case-manager-needs", c.NotifyNeedForCaseManager(case_id=case_id, municipality_ref=muni),
                as_coord, at=t.step(0, 2))
    api.on_case(case_id, "/case-manager", c.AppointCaseManager(
        case_id=case_id, case_manager_ref=cm, municipality_ref=muni, org_unit_ref=social, needs_l2_l3_multilevel=True,
        long_term=True, works_in_social_services_or_area_of_needs=True), as_lead, at=t.step(3, 14))
    if not past("team"):
        return case_id
    members = [TeamMember(f"person:teacher-{tag}", org, MemberType.SERVICE_PROVIDER_REP),
               TeamMember(coord, org, MemberType.COORDINATOR)]
    if age >= 12:
        members.append(TeamMember(child, None, MemberType.CHILD))
    api.on_case(case_id, "/support-team", c.EstablishSupportTeam(case_id=case_id, team_id="team-1",
                                                                 members=tuple(members)), as_cm, at=t.step(3, 14))
    at = t.step(1, 5)
    meeting_on = t.day(rng.randint(5, 21))
    invitees = (*parents, f"person:teacher-{tag}", coord, *((child,) if age >= 12 else ()))
    api.on_case(case_id, "/support-team/meeting-invitations", c.InviteToTeamMeeting(
        case_id=case_id, meeting_id="meeting-1", invitee_refs=invitees, scheduled_for=meeting_on), as_cm, at=at)
    if stage == "without_plan":
        api.on_case(case_id, "/support-team/conclusion", c.ConcludeSupportTeam(
            case_id=case_id, outcome="concluded_without_plan", justification_doc_ref=f"doc:no-plan-{tag}"), as_cm,
            at=t.step(5, 21))
        if rng.random() < 0.5:
            api.on_case(case_id, "/gev-complaints", c.RecordComplaint(
                case_id=case_id, complaint_id="gev-1", complainant_ref=mum, complainant_capacity="user",
                subject="team_concluded_without_plan", external_ref=f"GEV-{tag}"), as_coord, at=t.step(5, 30))
        return case_id
    api.on_case(case_id, "/support-team/meetings", c.RecordTeamMeeting(
        case_id=case_id, meeting_id="meeting-1", attendee_refs=(mum, f"person:teacher-{tag}", coord, cm),
        parents_attended=True, child_attended=age >= 12, minutes_doc_ref=f"doc:minutes-{tag}"), as_cm,
        at=t.step(5, 21))
    api.on_case(case_id, "/child-views", c.RecordChildViews(
        case_id=case_id, method="conversation" if age >= 6 else "drawing", summary_doc_ref=f"doc:views-{tag}"), as_cm,
        at=t.step(0, 2))
    if not past("plan"):
        return case_id
    at = t.step(5, 30)
    valid_from, review_in = t.day(), rng.randint(150, 250)
    plan = SupportPlanContent(
        needs_assessment_ref=f"doc:needs-{tag}", objectives=(f"doc:objective-{tag}-1", f"doc:objective-{tag}-2"),
        provider_roles=(ProviderRole(org, f"doc:role-{tag}-school"), ProviderRole(social, f"doc:role-{tag}-social")),
        evaluation_method="team_review_against_objectives", valid_from=valid_from,
        valid_to=valid_from + timedelta(days=365), review_dates=(valid_from + timedelta(days=review_in),),
        participants=(mum, cm, *((child,) if age >= 12 else ())), parents_participated=True,
        child_participated=age >= 12)
    api.on_case(case_id, "/support-plans", c.AdoptSupportPlan(case_id=case_id, plan_id="plan-1", content=plan), as_cm,
                at=at)
    if not past("evaluated"):
        return case_id
    at = t.step(review_in - 10, review_in + 30)  # on its review date, give or take (late is a T4 breach)
    api.on_case(case_id, "/support-plans/evaluations", c.EvaluateSupportPlan(
        case_id=case_id, plan_id="plan-1", version=1, outcome="continue", progress_doc_ref=f"doc:progress-{tag}",
        next_review_date=t.day(rng.randint(90, 180))), as_cm, at=at)
    if stage == "transition":
        api.on_case(case_id, "/adult-transition-plans", c.AdoptAdultTransitionPlan(
            case_id=case_id, plan_id="transition-1",
            adult_service_handovers=(AdultServiceHandover(f"org:adult-social-{_slug(muni)}", "case_worker"),),
            young_person_participated=True), as_cm, at=t.step(10, 60))
        return case_id
    if stage == "age_out":  # the team's work ends as the young person nears 18, with the transition plan in place
        api.on_case(case_id, "/adult-transition-plans", c.AdoptAdultTransitionPlan(
            case_id=case_id, plan_id="transition-1",
            adult_service_handovers=(AdultServiceHandover(f"org:adult-social-{_slug(muni)}", "case_worker"),),
            young_person_participated=True), as_cm, at=t.step(10, 60))
        api.on_case(case_id, "/support-team/conclusion", c.ConcludeSupportTeam(
            case_id=case_id, outcome="age_out", justification_doc_ref=f"doc:age-out-{tag}"), as_cm,
            at=t.step(10, 60))
        return case_id
    if not past("goals_met"):
        return case_id
    api.on_case(case_id, "/support-team/conclusion", c.ConcludeSupportTeam(
        case_id=case_id, outcome="goals_met", justification_doc_ref=f"doc:closing-{tag}"), as_cm,
        at=t.step(60, 200))
    if stage == "complaint":
        api.on_case(case_id, "/gev-complaints", c.RecordComplaint(
            case_id=case_id, complaint_id="gev-1", complainant_ref=mum, complainant_capacity="user",
            subject="service_quality", external_ref=f"GEV-{tag}"), as_coord, at=t.step(5, 30))
        if rng.random() < 0.6:
            api.on_case(case_id, "/gev-complaints/outcomes", c.RecordComplaintOutcome(
                case_id=case_id, complaint_id="gev-1", outcome_summary_ref=f"doc:gev-outcome-{tag}"), as_lead,
                at=t.step(20, 90))
    return case_id


def norway_case(api: Api, pop: Population, index: int, stage: str) -> UUID | None:
    """One Norwegian episode up to ``stage``; None when it was already recorded (same seed)."""
    rng, t = pop.rng, pop.timeline()
    muni = rng.choice(MUNICIPALITIES["NO"])
    born = pop.birth_date(rng.randint(0, 17), t.start_day, NORWAY_SPAN)
    tag = f"s{pop.seed}-no-{index:04d}"
    child, mum = f"person:child-{tag}", f"person:parent-{tag}-a"
    unit = f"org:koordinerende-enhet-{_slug(muni)}"
    staff = Who(f"person:staff-{_slug(muni)}-{rng.randint(1, 3)}", "municipal_staff", unit, muni)
    bk = f"person:bk-{_slug(muni)}-{rng.randint(1, 4)}"
    for ref in (mum, bk, staff.person, muni):
        pop.remember(ref, "nb")
    opened = api.post("/v1/cases/norway/requests", c.RequestBarnekoordinator(
        child_ref=child, parent_refs=(mum,), birth_date=born, municipality_ref=muni,
        request_id="request-1", channel=rng.choice(["oral", "written"]), requested_by_ref=mum,
        family_status="child_under_18", episode=1), staff, allow_conflict=True, at=t.step(0, 0))
    if opened is None:
        return None
    case_id = UUID(opened["case_id"])
    order = NORWAY_STAGES
    reach = order.index(stage)
    if stage == "requested":
        return case_id
    api.on_case(case_id, "/eligibility-assessments", c.AssessEligibility(
        case_id=case_id, criteria=EligibilityCriteria(True, True, stage != "refused_appealed"),
        family_views_doc_ref=f"doc:family-views-{tag}", child_views_doc_ref=f"doc:child-views-{tag}"), staff,
        at=t.step(5, 20))
    if stage == "assessed":
        return case_id
    now = t.step(3, 14)
    if stage == "refused_appealed":
        api.on_case(case_id, "/decisions", c.IssueDecision(
            case_id=case_id, decision_id="decision-1", decision="refused", written=True,
            justification_doc_ref=f"doc:decision-{tag}", appeal_info_included=True, delivered_at=now), staff,
            at=now)
        _norway_complaint(api, case_id, tag, "decision-1", unit, staff, rng, t)
        return case_id
    api.on_case(case_id, "/decisions", c.IssueDecision(
        case_id=case_id, decision_id="decision-1", decision="granted", written=True,
        justification_doc_ref=f"doc:decision-{tag}", appeal_info_included=True, delivered_at=now), staff, at=now)
    if reach < order.index("consented"):
        return case_id
    school, health = f"org:primary-school-{_slug(muni)}", f"org:health-centre-{_slug(muni)}"
    api.on_case(case_id, "/consents", c.RecordConsent(
        case_id=case_id, consent_id="consent-1", given_by_refs=(mum,), scope_service_org_refs=(school, health),
        form_doc_ref=f"doc:consent-{tag}"), staff, at=t.step(1, 10))
    if reach < order.index("appointed"):
        return case_id
    api.on_case(case_id, "/barnekoordinator", c.AppointBarnekoordinator(
        case_id=case_id, coordinator_ref=bk, unit_ref=unit, family_wishes_considered=True), staff, at=t.step(3, 14))
    if reach < order.index("planned"):
        return case_id
    as_bk = Who(bk, "coordinator", unit)
    api.on_case(case_id, "/coordination-instructions", c.IssueCoordinationInstruction(
        case_id=case_id, target_service_org_ref=school, instruction_type="meeting_attendance",
        detail_doc_ref=f"doc:instruction-{tag}"), as_bk, at=t.step(5, 20))
    at = t.step(10, 40)
    start = t.day()
    api.on_case(case_id, "/individual-plans", c.AdoptIndividualPlan(
        case_id=case_id, plan_id="ip-1", content=IndividualPlanContent(
            goals_resources_and_needs_ref=f"doc:ip-goals-{tag}", participants=(mum, bk),
            responsible_for_coordination_ref=f"doc:ip-responsible-{tag}", contributions_ref=f"doc:ip-contrib-{tag}",
            measures_ref=f"doc:ip-measures-{tag}", implementation_ref=f"doc:ip-implementation-{tag}",
            plan_period_from=start, plan_period_to=start + timedelta(days=365),
            revision_dates=(start + timedelta(days=rng.randint(90, 300)),), recipient_consent_to_plan=True,
            recipient_consent_to_sharing=True, cooperation_with_other_services_ref=f"doc:ip-coop-{tag}")), as_bk,
        at=at)
    if reach < order.index("terminated_appealed"):
        return case_id
    ended = t.step(60, 200)
    api.on_case(case_id, "/decisions", c.IssueDecision(
        case_id=case_id, decision_id="decision-2", decision="terminated", written=True,
        justification_doc_ref=f"doc:decision-2-{tag}", appeal_info_included=True, delivered_at=ended), staff, at=ended)
    if stage == "terminated_appealed":
        _norway_complaint(api, case_id, tag, "decision-2", unit, staff, rng, t)
        return case_id
    api.on_case(case_id, "/closure", c.CloseCase(case_id=case_id, closure_reason="needs_met"), staff,
                at=t.step(5, 30))
    return case_id


def _norway_complaint(api: Api, case_id: UUID, tag: str, decision_id: str, unit: str, staff: Who,
                      rng: random.Random, t: Timeline) -> None:
    """A complaint about a decision (within the three weeks): received, then (usually) reconsidered, forwarded
    and decided."""
    api.on_case(case_id, "/complaints", c.ReceiveComplaint(
        case_id=case_id, complaint_id="klage-1", decision_id=decision_id, received_by_ref=unit), staff,
        at=t.step(2, 18))
    roll = rng.random()
    if roll < 0.25:
        return
    upheld = roll < 0.4
    api.on_case(case_id, "/complaints/reconsiderations", c.ReconsiderComplaint(
        case_id=case_id, complaint_id="klage-1", outcome="upheld" if upheld else "not_upheld",
        reasons_doc_ref=f"doc:reconsideration-{tag}"), staff, at=t.step(5, 20))
    if upheld or roll < 0.55:
        return
    api.on_case(case_id, "/complaints/forwardings", c.ForwardComplaint(case_id=case_id, complaint_id="klage-1"),
                staff, at=t.step(1, 7))
    if roll < 0.75:
        return
    api.on_case(case_id, "/complaints/statsforvalteren-decisions", c.RecordStatsforvalterenDecision(
        case_id=case_id, complaint_id="klage-1",
        outcome=rng.choice(["municipality_upheld", "decision_reversed", "returned_for_new_processing"]),
        doc_ref=f"doc:statsforvalteren-{tag}"), staff,  # the municipality records what Statsforvalteren decided
        at=t.step(30, 90))


def register_people(api: Api, pop: Population, jurisdiction: str, index: int, case_id: UUID) -> None:
    """The family's synthetic personal data into the vault, through the API as the family itself: each parent
    their own, the first parent the child's (ACCESS-VAULT-2). A second parent only where the case has one (every
    parent of a case is remembered as a recipient): asking for one it lacks was a 404 and a refused read."""
    from services.demo_people import family_refs, identity

    child, mum, dad = family_refs(pop.seed, jurisdiction, index)
    for who, ref in ((mum, child), (mum, mum), (dad, dad)):
        if who in pop.recipients:
            api.put(f"/v1/cases/{case_id}/people/{ref}", identity(ref), Who(who, "parent"))


def register_recipients(dsn: str, schema: str, recipients: dict[str, str], data_dir: Path | None = None) -> None:
    """Put an e-mail address per person and municipality into the notifier's directory (not an API: config):
    the channel and language in its table, the address sealed in the vault (the keys of ``up``'s data dir)."""
    from psycopg import sql
    from psycopg_pool import ConnectionPool

    from services.notifier.directory import RECIPIENTS_DDL, SETUP_LOCK, PostgresDirectory, Recipient
    from services.vault import VaultSettings, open_vault

    settings = VaultSettings(data_dir=data_dir) if data_dir else VaultSettings()
    with ConnectionPool(dsn, min_size=1, max_size=1, kwargs={"autocommit": False}) as pool:
        with pool.connection() as conn, conn.transaction():
            conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
            conn.execute(SETUP_LOCK)
            conn.execute(RECIPIENTS_DDL.encode())
        directory = PostgresDirectory(pool, schema, open_vault(pool, schema, settings))
        for ref, language in sorted(recipients.items()):
            directory.put(Recipient(ref, "email", f"{_slug(ref)}@demo.prosperity.invalid", language))


def _progress(done: int, total: int, started: float) -> None:
    width = 30
    filled = width * done // max(total, 1)
    rate = done / max(time.monotonic() - started, 1e-6)
    sys.stderr.write(f"\r  cases [{'#' * filled}{'.' * (width - filled)}] {done}/{total}  {rate:.1f}/s ")
    sys.stderr.flush()


def _plan(total: int, rng: random.Random) -> list[tuple[str, str]]:
    """Half in each country; stages cycle so that even a small run has every stage."""
    plan = []
    for i in range(total):
        if i % 2 == 0:
            plan.append(("IS", ICELAND_STAGES[(i // 2) % len(ICELAND_STAGES)]))
        else:
            plan.append(("NO", NORWAY_STAGES[(i // 2) % len(NORWAY_STAGES)]))
    rng.shuffle(plan)
    return plan


def generate(base_url: str, *, cases: int, seed: int, dsn: str | None, schema: str,
             samples: dict[str, tuple[UUID, str]],
             progress: Callable[[int, int, float], None] = _progress, data_dir: Path | None = None) -> dict[str, int]:
    """Record the population; returns counts (``cases``, ``skipped`` as already there, ``requests``) and fills
    ``samples`` with one case id per country and stage, and a parent who may read it."""
    pop = Population(seed, datetime.now(UTC))
    api = Api(base_url)
    started = time.monotonic()
    counts = {"cases": 0, "skipped": 0}
    sent: set[str] = set()
    """Recipients already in the notifier's directory."""
    try:
        register_directory(api, pop)
        for index, (jurisdiction, stage) in enumerate(_plan(cases, pop.rng)):
            recorded = (iceland_case if jurisdiction == "IS" else norway_case)(api, pop, index, stage)
            counts["cases" if recorded else "skipped"] += 1
            if recorded is not None:
                register_people(api, pop, jurisdiction, index, recorded)
                tag = f"s{seed}-{jurisdiction.lower()}-{index:04d}"
                samples.setdefault(f"{jurisdiction} {stage}", (recorded, f"person:parent-{tag}-a"))
            progress(index + 1, cases, started)
            if dsn and (index + 1) % 10 == 0:
                register_recipients(dsn, schema, {r: lang for r, lang in pop.recipients.items() if r not in sent},
                                    data_dir)
                sent |= set(pop.recipients)
        if dsn:
            register_recipients(dsn, schema, {r: lang for r, lang in pop.recipients.items() if r not in sent},
                                data_dir)
    finally:
        api.close()
    counts["requests"] = api.requests
    return counts


def run(args: argparse.Namespace) -> int:
    from services.settings import StoreSettings
    from services.up import read_state

    settings = StoreSettings()
    state = read_state(args.data_dir or settings.data_dir) or {}
    base_url = args.api_url or os.environ.get("PROSPERITY_DEMO_API_URL") or state.get("api_url") \
        or "http://127.0.0.1:8000"
    dsn = args.pg_dsn or state.get("pg_dsn") or settings.pg_dsn
    schema = settings.pg_schema or state.get("pg_schema") or "public"
    print(f"demo: {args.cases} cases (seed {args.seed}) through {base_url}", flush=True)
    started = time.monotonic()
    try:
        samples: dict[str, tuple[UUID, str]] = {}
        counts = generate(base_url, cases=args.cases, seed=args.seed, dsn=dsn, schema=schema, samples=samples,
                          data_dir=args.data_dir or settings.data_dir)
    except (DemoError, httpx.HTTPError) as error:
        print(f"\nprosperity demo: {error}", file=sys.stderr)
        return 1
    print(f"\ndemo: {counts['cases']} cases recorded, {counts['skipped']} already there, {counts['requests']} "
          f"API requests in {time.monotonic() - started:.1f}s"
          + ("" if dsn else "; no database known, so no notification recipients were registered"), flush=True)
    if samples:
        print("a case per country and stage, and a parent who may read it:")
        for label, (case_id, parent) in sorted(samples.items()):
            print(f"  {label:<26} {case_id}  {parent}")
        label, (case_id, parent) = sorted(samples.items())[0]
        print(f"e.g.  TOKEN=$(prosperity token --role parent --person {parent})\n"
              f"      curl -H \"Authorization: Bearer $TOKEN\" -H 'X-Purpose: own_case' {base_url}/v1/cases/{case_id}")
    return 0


def _case_count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_CASES:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_CASES}, not {text!r}")
    return count


MAX_CASES = 100_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cases", type=_case_count, default=200,
                        help=f"how many cases, 1 to {MAX_CASES} (default 200)")
    parser.add_argument("--seed", type=int, default=1, help="the same seed gives the same population (default 1)")
    parser.add_argument("--api-url", help="base URL of the API (default: the running `prosperity up`)")
    parser.add_argument("--pg-dsn", help="database of the notifier's recipient directory (default: from `up`)")
    parser.add_argument("--data-dir", type=Path, help="data dir of `prosperity up` (default PROSPERITY_DATA_DIR/var)")
