"""What a case page shows, built from the case as the application loaded it (after the access model granted the
read, :meth:`CaseReads.case`) and its own stored facts: the summary the JSON API returns, the plan's elements,
services by level, decisions with their complaint deadlines, complaints, and the timeline of facts.

Read from the event store, never from a read model, like ``GET /v1/cases/{id}``: a page shows the case as it
stands now. Only pseudonymous references appear; people are shown through ``display_name``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from domain.case import Case
from domain.farsaeld import PLAN_ELEMENTS
from services.api import models as m
from services.api.routers.cases import case_summary


@dataclass(frozen=True)
class Fact:
    version: int
    name: str
    occurred_at: datetime
    recorded_at: datetime
    actor_role: str
    actor_ref: str


@dataclass(frozen=True)
class PlanItem:
    element: str
    value: str
    not_applicable: str | None = None


@dataclass(frozen=True)
class PlanView:
    kind: str
    """``support_plan`` (Iceland, five elements) or ``individual_plan`` (Norway, the nine items of § 19)."""
    plan_id: str
    version: int
    adopted_on: date
    items: tuple[PlanItem, ...]
    review_dates: tuple[date, ...] = ()
    participants: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServiceView:
    service_id: str
    provider_org_ref: str
    level: int
    type_code: str
    start_date: date
    end_date: date | None


@dataclass(frozen=True)
class DecisionView:
    decision_id: str
    decision: str
    delivered_at: datetime | None
    appeal_deadline: datetime | None
    appeal_body: str | None
    justification_doc_ref: str | None


@dataclass
class CaseView:
    summary: m.CaseSummary
    facts: list[Fact]
    plan: PlanView | None = None
    services: dict[int, list[ServiceView]] = field(default_factory=dict)
    decisions: list[DecisionView] = field(default_factory=list)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple | list):
        return ", ".join(_text(v) for v in value)
    if hasattr(value, "org_ref") and hasattr(value, "role_doc_ref"):
        return f"{value.org_ref}: {value.role_doc_ref}"
    return str(getattr(value, "value", value))


def support_plan_items(content: Any) -> tuple[PlanItem, ...]:
    """The five elements of an Icelandic support plan (seed 000), in the order of ``farsaeld.PLAN_ELEMENTS``."""
    values = {"needs_assessment": _text(content.needs_assessment_ref), "objectives": _text(content.objectives),
              "provider_roles": "; ".join(_text(r) for r in content.provider_roles),
              "evaluation_method": _text(content.evaluation_method),
              "duration": "" if content.valid_from is None and content.valid_to is None else
              f"{_text(content.valid_from)} to {_text(content.valid_to)}"}
    reasons = dict(content.not_applicable or {})
    return tuple(PlanItem(name, values[name], reasons.get(name)) for name in PLAN_ELEMENTS)


def individual_plan_items(content: Any) -> tuple[PlanItem, ...]:
    """The nine items of a Norwegian individual plan (forskrift om habilitering og rehabilitering § 19)."""
    period = "" if content.plan_period_from is None and content.plan_period_to is None else \
        f"{_text(content.plan_period_from)} to {_text(content.plan_period_to)}"
    consent = " / ".join("✓" if given else "✗" for given in (content.recipient_consent_to_plan,
                                                           content.recipient_consent_to_sharing))
    return tuple(PlanItem(name, value) for name, value in (
        ("goals_resources_and_needs", _text(content.goals_resources_and_needs_ref)),
        ("participants", _text(content.participants)),
        ("responsible_for_coordination", _text(content.responsible_for_coordination_ref)),
        ("contributions", _text(content.contributions_ref)), ("measures", _text(content.measures_ref)),
        ("implementation", _text(content.implementation_ref)), ("plan_period", period),
        ("consent", consent), ("cooperation_with_other_services", _text(content.cooperation_with_other_services_ref))))


def _plan(event: Any, name: str, version: int) -> PlanView:
    content = event.content
    if name == "IndividualPlanAdopted":
        return PlanView("individual_plan", event.plan_id, version, event.ctx.day, individual_plan_items(content),
                        tuple(content.revision_dates), tuple(content.participants))
    return PlanView("support_plan", event.plan_id, int(event.version), event.ctx.day, support_plan_items(content),
                    tuple(content.review_dates), tuple(content.participants))


def case_view(case: Case, events: Sequence[Any]) -> CaseView:
    """The page's view of ``case`` from its facts (``app.events.get(case.id)``)."""
    view = CaseView(case_summary(case), [])
    services: dict[str, ServiceView] = {}
    individual_versions = 0
    for event in events:
        name = type(event).__name__
        ctx = getattr(event, "ctx", None)
        if ctx is not None:
            view.facts.append(Fact(event.originator_version, name, ctx.occurred_at, event.timestamp,
                                   ctx.actor.role.value, ctx.actor.person_ref))
        if name in ("SupportPlanAdopted", "SupportPlanRevised"):
            view.plan = _plan(event, name, 0)
        elif name == "IndividualPlanAdopted":
            individual_versions += 1
            view.plan = _plan(event, name, individual_versions)
        elif name == "ServiceRecorded":
            services[event.service_id] = ServiceView(event.service_id, event.provider_org_ref,
                                                     int(event.service_level), event.service_type_code,
                                                     event.start_date, None)
        elif name == "ServiceEnded" and event.service_id in services:
            ended = services[event.service_id]
            services[event.service_id] = ServiceView(ended.service_id, ended.provider_org_ref, ended.level,
                                                     ended.type_code, ended.start_date, event.end_date)
        elif name == "BarnekoordinatorDecisionIssued":
            view.decisions.append(DecisionView(event.decision_id, _text(event.decision), event.delivered_at,
                                               event.appeal_deadline, event.appeal_body,
                                               event.justification_doc_ref))
    for service in services.values():
        view.services.setdefault(service.level, []).append(service)
    view.services = dict(sorted(view.services.items()))
    return view
