"""The one place a stored domain event becomes its public contract, subject and NATS headers.

The relay (``services/relay``) reads notifications from the event store, decodes each with
``app.mapper.to_domain_event(notification)`` and calls :func:`to_published`; it publishes
``subject``/``payload``/``headers`` as they are. Every ``@event`` fact of ``IcelandCase``, ``NorwayCase``,
``Case`` and ``Institution`` has an entry in ``_SPECS`` below; an unknown fact raises
:class:`UnmappedEventError` rather than publishing something no contract describes.

A fact's own fields are copied by name into its contract (``renames`` where the public name differs);
``derived`` fields are computed from a domain field (the birth date becomes ``birth_year``); ``withheld``
fields are never published. The unit tests check that every field of every fact is accounted for, so a
new domain field cannot silently stay unpublished or leak.

Municipality: most facts do not repeat the case's municipality, but every subject needs it. The
caller passes the case's current ``municipality_ref``; :class:`MunicipalityTracker` keeps it for a relay.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from functools import lru_cache
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import DomainEvent
from eventsourcing.utils import get_topic

from contracts import events as ev
from contracts.events import SCHEMA_VERSION, EventEnvelopeV1, event_type_of
from contracts.subjects import subject_for
from domain import barnekoordinator
from domain.case import Case
from domain.case_iceland import IcelandCase
from domain.case_norway import NorwayCase
from domain.case_norway_duties import NorwayCoordination
from domain.directory import Institution
from domain.values import RULES_VERSION_BEFORE_RECORDING

ICELAND_LEGAL_BASIS = "Act 86/2021"
NORWAY_LEGAL_BASIS = barnekoordinator.LEGAL_BASIS
NORWAY_COMPLAINT_LEGAL_BASIS = "pbrl ch. 7"
NORWAY_PLAN_LEGAL_BASIS = "forskrift om habilitering og rehabilitering, individuell plan og koordinator § 19"
STORE_FIELDS = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic", "ctx"})
"""Fields every stored fact has; the envelope publishes them in its own words (``ctx`` is flattened)."""
ENVELOPE_SOURCES = frozenset({"municipality_ref", "jurisdiction", "legal_basis", "rule_id"})
"""Fact fields that, where a fact has them, fill the envelope rather than the contract's own fields."""
_JURISDICTION_OF_AGGREGATE = {"IcelandCase": "IS", "NorwayCase": "NO", "NorwayCoordination": "NO"}
_SAME_LAW = object()


class UnmappedEventError(LookupError):
    """A domain event no contract describes: add it to ``contracts.events`` and ``contracts.mapping``."""


class UnknownPlacementError(LookupError):
    """The municipality (or an institution's jurisdiction) of an aggregate is not known to the caller."""


@dataclass(frozen=True)
class PublishedEvent:
    subject: str
    """``contracts.subjects.subject_for(...)``: ``cases.v1.<jurisdiction>.<municipality>.<event_type>``."""
    payload: bytes
    """``contract.model_dump_json().encode()``."""
    headers: dict[str, str]
    """``Nats-Msg-Id`` (``<app name>:<notification id>``, JetStream's de-duplication key), and
    ``Prosperity-Event-Type``, ``Prosperity-Schema``, ``Prosperity-Correlation-Id``."""
    contract: EventEnvelopeV1


@dataclass(frozen=True)
class _Spec:
    model: type[EventEnvelopeV1]
    rule_id: str | None = None
    legal_basis: object = _SAME_LAW
    """A fixed legal basis; by default the law of the fact's jurisdiction (none for the directory)."""
    renames: Mapping[str, str] = field(default_factory=dict)
    """Contract field → the fact's field it is copied from."""
    derived: Mapping[str, tuple[str, Callable[[Any], Any]]] = field(default_factory=dict)
    """Contract field → (the fact's field, the function computing the published value from it)."""
    withheld: frozenset[str] = frozenset()
    """Fact fields that are never published."""

    @property
    def event_type(self) -> str:
        return event_type_of(self.model)

    def sources(self) -> frozenset[str]:
        """The fact fields this contract publishes, computes from, withholds or puts in the envelope."""
        own = set(self.model.model_fields) - set(EventEnvelopeV1.model_fields)
        copied = {self.renames.get(name, name) for name in own if name not in self.derived}
        return frozenset(copied | {source for source, _ in self.derived.values()} | self.withheld)


def _fact(aggregate: type, name: str) -> type[Any]:
    """A fact class of an aggregate; ``@event("Name")`` creates them when the class is defined."""
    event_class = getattr(aggregate, name, None)
    if not (isinstance(event_class, type) and issubclass(event_class, DomainEvent)):
        raise UnmappedEventError(f"{aggregate.__name__} has no fact {name}; update contracts.mapping.")
    return event_class


def _birth_year(birth_date: date | None) -> int | None:
    return None if birth_date is None else birth_date.year


_BIRTH_YEAR = {"birth_year": ("birth_date", _birth_year)}
_NO_COMPLAINT = NORWAY_COMPLAINT_LEGAL_BASIS

_SPECS: dict[type, _Spec] = {
    # coordinator directory
    _fact(Institution, "Registered"): _Spec(ev.InstitutionRegisteredV1, legal_basis=None),
    _fact(Institution, "CoordinatorDesignated"): _Spec(ev.CoordinatorDesignatedV1, legal_basis=None),
    _fact(Institution, "CoordinatorDesignationWithdrawn"): _Spec(ev.CoordinatorDesignationWithdrawnV1,
                                                                 legal_basis=None),
    # both laws (IcelandCase.X and NorwayCase.X subclass these)
    _fact(Case, "ChildReachedMajority"): _Spec(ev.ChildReachedMajorityV1),
    _fact(Case, "CaseClosed"): _Spec(ev.CaseClosedV1),
    # Iceland
    _fact(IcelandCase, "ContactRegistered"): _Spec(ev.ContactRegisteredV1, "IS-R1", derived=_BIRTH_YEAR),
    _fact(IcelandCase, "IntegrationGuidanceGiven"): _Spec(ev.IntegrationGuidanceGivenV1),
    _fact(IcelandCase, "InformationSharingRequestSigned"): _Spec(ev.InformationSharingRequestSignedV1, "IS-R3"),
    _fact(IcelandCase, "InformationSharedWithCoordinator"): _Spec(ev.InformationSharedWithCoordinatorV1, "IS-INV-4"),
    _fact(IcelandCase, "IntegrationOffered"): _Spec(ev.IntegrationOfferedV1, "IS-R5"),
    _fact(IcelandCase, "IntegrationRequested"): _Spec(ev.IntegrationRequestedV1, "IS-R6"),
    _fact(IcelandCase, "IntegrationRequestWithdrawn"): _Spec(ev.IntegrationRequestWithdrawnV1, "IS-R7"),
    _fact(IcelandCase, "ProcessingStopped"): _Spec(ev.ProcessingStoppedV1, "IS-G0"),
    _fact(IcelandCase, "CoordinatorChanged"): _Spec(ev.CoordinatorChangedV1, "IS-R1",
                                                    renames={"coordinator_org_ref": "org_ref"}),
    _fact(IcelandCase, "InitialAssessmentArranged"): _Spec(ev.InitialAssessmentArrangedV1),
    _fact(IcelandCase, "ServiceRecorded"): _Spec(ev.ServiceRecordedV1, "IS-R10"),
    _fact(IcelandCase, "LevelRaised"): _Spec(ev.LevelRaisedV1),
    _fact(IcelandCase, "ServiceEnded"): _Spec(ev.ServiceEndedV1),
    _fact(IcelandCase, "Level1PlanRecorded"): _Spec(ev.Level1PlanRecordedV1),
    _fact(IcelandCase, "CaseManagerNeedNotified"): _Spec(ev.CaseManagerNeedNotifiedV1, "IS-R12",
                                               renames={"notified_municipality_ref": "municipality_ref"}),
    _fact(IcelandCase, "CaseManagerAppointed"): _Spec(ev.CaseManagerAppointedV1, "IS-INV-2",
                                            renames={"appointing_municipality_ref": "municipality_ref"}),
    _fact(IcelandCase, "SupportTeamEstablished"): _Spec(ev.SupportTeamEstablishedV1, "IS-INV-1"),
    _fact(IcelandCase, "SupportTeamMemberInvited"): _Spec(ev.SupportTeamMemberInvitedV1, "IS-R15"),
    _fact(IcelandCase, "SupportTeamMemberRemoved"): _Spec(ev.SupportTeamMemberRemovedV1, "IS-R16"),
    _fact(IcelandCase, "TeamMeetingInvitationSent"): _Spec(ev.TeamMeetingInvitationSentV1),
    _fact(IcelandCase, "SupportTeamMeetingHeld"): _Spec(ev.SupportTeamMeetingHeldV1, "IS-R17"),
    _fact(IcelandCase, "ChildViewsRecorded"): _Spec(ev.ChildViewsRecordedV1),
    _fact(IcelandCase, "SupportPlanAdopted"): _Spec(ev.SupportPlanAdoptedV1, "IS-R19"),
    _fact(IcelandCase, "SupportPlanEvaluated"): _Spec(ev.SupportPlanEvaluatedV1, "IS-R20"),
    _fact(IcelandCase, "SupportPlanRevised"): _Spec(ev.SupportPlanRevisedV1, "IS-INV-3"),
    _fact(IcelandCase, "AdultTransitionPlanAdopted"): _Spec(ev.AdultTransitionPlanAdoptedV1, "IS-INV-7"),
    _fact(IcelandCase, "SupportTeamConcluded"): _Spec(ev.SupportTeamConcludedV1),
    _fact(IcelandCase, "TeamConclusionNotified"): _Spec(ev.TeamConclusionNotifiedV1, "IS-INV-6"),
    _fact(IcelandCase, "ComplaintLodged"): _Spec(ev.ComplaintLodgedV1, "IS-R25"),
    _fact(IcelandCase, "ComplaintOutcomeRecorded"): _Spec(ev.ComplaintOutcomeRecordedV1),
    _fact(IcelandCase, "DomicileChanged"): _Spec(ev.DomicileChangedV1, "IS-R27"),
    # Norway
    _fact(NorwayCase, "BarnekoordinatorRequested"): _Spec(ev.BarnekoordinatorRequestedV1, "NO-R1", derived=_BIRTH_YEAR),
    _fact(NorwayCase, "BarnekoordinatorEligibilityAssessed"): _Spec(ev.BarnekoordinatorEligibilityAssessedV1, "NO-R2"),
    _fact(NorwayCase, "BarnekoordinatorDecisionIssued"): _Spec(ev.BarnekoordinatorDecisionIssuedV1, "NO-R3"),
    _fact(NorwayCase, "BarnekoordinatorConsentRecorded"): _Spec(ev.BarnekoordinatorConsentRecordedV1, "NO-G0"),
    _fact(NorwayCase, "ConsentWithdrawn"): _Spec(ev.ConsentWithdrawnV1),
    _fact(NorwayCase, "BarnekoordinatorAppointed"): _Spec(ev.BarnekoordinatorAppointedV1, "NO-R4"),
    _fact(NorwayCase, "CoordinationInstructionIssued"): _Spec(ev.CoordinationInstructionIssuedV1, "NO-R6"),
    _fact(NorwayCase, "IndividualPlanAdopted"): _Spec(ev.IndividualPlanAdoptedV1, "NO-R7",
                                                      legal_basis=NORWAY_PLAN_LEGAL_BASIS),
    _fact(NorwayCase, "ComplaintReceived"): _Spec(ev.ComplaintReceivedV1, "NO-R9", legal_basis=_NO_COMPLAINT),
    _fact(NorwayCase, "ComplaintReconsidered"): _Spec(ev.ComplaintReconsideredV1, "NO-R10", legal_basis=_NO_COMPLAINT),
    _fact(NorwayCase, "ComplaintForwardedToStatsforvalteren"): _Spec(
        ev.ComplaintForwardedToStatsforvalterenV1, "NO-R11", legal_basis=_NO_COMPLAINT),
    _fact(NorwayCase, "StatsforvalterenDecisionRecorded"): _Spec(
        ev.StatsforvalterenDecisionRecordedV1, "NO-R12", legal_basis=_NO_COMPLAINT),
    # the law's clock (both laws; the fact's own rule_id fills the envelope's)
    _fact(Case, "DeadlineWarningRaised"): _Spec(ev.DeadlineWarningRaisedV1),
    _fact(Case, "DeadlineBreached"): _Spec(ev.DeadlineBreachedV1),
    _fact(Case, "DeadlineReached"): _Spec(ev.DeadlineReachedV1),
    _fact(Case, "DeadlineEscalated"): _Spec(ev.DeadlineEscalatedV1),
    # added in issue 12 (the duties are facts of NorwayCase's base, so stored as NorwayCoordination.<Fact>)
    _fact(IcelandCase, "LevelLowered"): _Spec(ev.LevelLoweredV1),
    _fact(NorwayCoordination, "CoordinatorGuidanceGiven"): _Spec(ev.CoordinatorGuidanceGivenV1, "NO-R15"),
    _fact(NorwayCoordination, "ReferralCommunicated"): _Spec(ev.ReferralCommunicatedV1, "NO-G0"),
    _fact(NorwayCoordination, "ServiceFollowedUp"): _Spec(ev.ServiceFollowedUpV1, "NO-R16"),
    _fact(NorwayCoordination, "ReassessmentInitiated"): _Spec(ev.ReassessmentInitiatedV1, "NO-G0"),
    _fact(NorwayCoordination, "FamilyViewsRecorded"): _Spec(ev.FamilyViewsRecordedV1, "NO-R15"),
    _fact(NorwayCoordination, "SpecialistCoordinatorLinked"): _Spec(ev.SpecialistCoordinatorLinkedV1, "NO-R17"),
    # the data subject's rights (both laws; the legal basis is the GDPR article the fact answers)
    _fact(Case, "ErasureRequestReceived"): _Spec(ev.ErasureRequestReceivedV1, "PRIV-2", legal_basis="GDPR Art. 17"),
    _fact(Case, "ErasureRequestDecided"): _Spec(ev.ErasureRequestDecidedV1, "PRIV-4", legal_basis="GDPR Art. 17"),
    _fact(Case, "ProcessingRestricted"): _Spec(ev.ProcessingRestrictedV1, "PRIV-5", legal_basis="GDPR Art. 18"),
    _fact(Case, "ProcessingRestrictionLifted"): _Spec(ev.ProcessingRestrictionLiftedV1, "PRIV-6",
                                                      legal_basis="GDPR Art. 18"),
    _fact(Case, "DataRectified"): _Spec(ev.DataRectifiedV1, "PRIV-8", legal_basis="GDPR Art. 16"),
    _fact(Case, "IdentityProtected"): _Spec(ev.IdentityProtectedV1, "PRIV-7", legal_basis="GDPR Art. 25"),
    _fact(Case, "IdentityProtectionLifted"): _Spec(ev.IdentityProtectionLiftedV1, "PRIV-7", legal_basis="GDPR Art. 25"),
    _fact(Case, "CaseArchived"): _Spec(ev.CaseArchivedV1, "PRIV-9", legal_basis="GDPR Art. 5(1)(e); Act 77/2014"),
    _fact(Case, "SubjectAccessExported"): _Spec(ev.SubjectAccessExportedV1, "ACCESS-PRIV-7",
                                                legal_basis="GDPR Art. 15"),
}
"""Domain fact class → its contract. ``IS-…``/``NO-…`` are the rule ids (domain.farsaeld,
domain.barnekoordinator) the fact satisfies, where one clearly applies."""
_CREATION_EVENTS = (IcelandCase.ContactRegistered, NorwayCase.BarnekoordinatorRequested, Institution.Registered)
_DOMICILE_CHANGED = _fact(IcelandCase, "DomicileChanged")


def _published_topics() -> tuple[str, ...]:
    """The topics of every stored fact that has a contract: what readers of the notification log select
    (``select_notifications(..., topics=PUBLISHED_TOPICS)``). The natural-key index (``domain.case.CaseKey``)
    shares the log but is never published; selecting by topic leaves it out without a gap in any case's
    versions, and it is saved just before its case, so a reader's position passes it with the case's fact."""
    topics = []
    for aggregate in (Case, IcelandCase, NorwayCase, NorwayCoordination, Institution):  # Case: facts both laws record
        for name in dir(aggregate):
            candidate = getattr(aggregate, name)
            if isinstance(candidate, type) and issubclass(candidate, DomainEvent):
                try:
                    _spec_for(candidate)
                except UnmappedEventError:
                    continue
                topics.append(get_topic(candidate))
    return tuple(sorted(set(topics)))


def mapped_event_classes() -> tuple[type, ...]:
    """The domain fact classes that have a contract (subclasses of these are mapped too)."""
    return tuple(_SPECS)


def contract_for(event_class: type) -> type[EventEnvelopeV1]:
    """The contract model of a domain fact class; raises :class:`UnmappedEventError` for an unknown one."""
    return _spec_for(event_class).model


def contract_sources(event_class: type) -> frozenset[str]:
    """The fact fields a contract's own fields are copied or derived from, plus those it withholds.
    With ``STORE_FIELDS`` and ``ENVELOPE_SOURCES`` they must cover every field of the fact."""
    return _spec_for(event_class).sources()


def _spec_for(event_class: type) -> _Spec:
    for cls in event_class.__mro__:
        spec = _SPECS.get(cls)
        if spec is not None:
            return spec
    raise UnmappedEventError(
        f"No public contract for domain event {event_class.__qualname__}: add a model to contracts.events, "
        "an entry to contracts.mapping._SPECS, and run `python -m contracts.generate`.")


def _owner_name(event_class: type) -> str:
    return event_class.__qualname__.split(".")[0]


_ATOMIC = frozenset({str, int, bool, float, type(None), date, datetime, UUID})
"""Types :func:`_plain` passes through as they are (exact types: an ``Enum`` subclassing ``str`` is not one)."""


def _plain(value: Any) -> Any:
    """Domain values as JSON-ready data for the contract model to validate: enums by value, records as
    dicts, tuples as lists."""
    if type(value) in _ATOMIC:
        return value
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _jurisdiction(domain_event: Any, given: str | None) -> str:
    if isinstance(domain_event, Institution.Registered):
        return str(_plain(domain_event.jurisdiction))
    case_law = _JURISDICTION_OF_AGGREGATE.get(_owner_name(type(domain_event)))
    if case_law is not None:
        return case_law
    if given is None:
        raise UnknownPlacementError(
            f"The jurisdiction of institution {domain_event.originator_id} is unknown: directory facts after "
            "institution_registered do not carry it. Pass jurisdiction=, or use MunicipalityTracker.to_published "
            "(it learns it from institution_registered; seed it or give it a lookup when starting mid-log).")
    return given


def _municipality(domain_event: Any, given: str | None) -> str:
    if isinstance(domain_event, _DOMICILE_CHANGED):
        return str(domain_event.to_municipality_ref)
    if isinstance(domain_event, _CREATION_EVENTS):
        return str(domain_event.municipality_ref)
    if given is None:
        raise UnknownPlacementError(
            f"The municipality of aggregate {domain_event.originator_id} is unknown: pass it, or let a "
            "MunicipalityTracker see its creation event (or seed it).")
    return given


def _legal_basis(spec: _Spec, domain_event: Any, jurisdiction: str) -> str | None:
    if hasattr(domain_event, "legal_basis"):
        return str(domain_event.legal_basis)
    if spec.legal_basis is not _SAME_LAW:
        return None if spec.legal_basis is None else str(spec.legal_basis)
    return {"IS": ICELAND_LEGAL_BASIS, "NO": NORWAY_LEGAL_BASIS}.get(jurisdiction)


@dataclass(frozen=True)
class _Plan:
    """What :func:`to_contract` needs of one fact class, worked out once (the relay maps every fact through it)."""

    spec: _Spec
    event_type: str
    fields: tuple[tuple[str, str, Callable[[Any], Any]], ...]
    """The contract's own fields: (contract field, the fact's field, how its value is published)."""
    jurisdiction: str | None
    """A case's law (from its class); ``None`` for directory facts."""
    places_itself: bool
    """The fact carries its aggregate's municipality (``institution_registered``, the opening facts)."""
    moves: bool
    """``domicile_changed``: the envelope's municipality is ``to_municipality_ref``."""
    registers_institution: bool


_ENVELOPE_KEYS = frozenset({
    "event_id", "notification_id", "case_id", "case_version", "event_type", "schema_version", "occurred_at",
    "recorded_at", "jurisdiction", "municipality_ref", "actor_person_ref", "actor_role", "actor_org_ref",
    "correlation_id", "causation_id", "legal_basis", "rule_id", "rules_version"})
"""The keys :func:`to_contract` fills from the store, the ``ctx`` and the spec (not from a fact field)."""
_PLANS: dict[type, _Plan] = {}


def _plan_for(event_class: type) -> _Plan:
    plan = _PLANS.get(event_class)
    if plan is None:
        spec = _spec_for(event_class)
        own = []
        for name in spec.model.model_fields:
            if name in _ENVELOPE_KEYS:
                continue
            if name in spec.derived:
                source, compute = spec.derived[name]
                own.append((name, source, compute))
            else:
                own.append((name, spec.renames.get(name, name), _plain))
        plan = _Plan(spec, spec.event_type, tuple(own), _JURISDICTION_OF_AGGREGATE.get(_owner_name(event_class)),
                     issubclass(event_class, _CREATION_EVENTS), issubclass(event_class, _DOMICILE_CHANGED),
                     issubclass(event_class, Institution.Registered))
        _PLANS[event_class] = plan
    return plan


def _contract_data(plan: _Plan, event: Any, notification_id: int, municipality_ref: str | None,
                   jurisdiction: str | None) -> dict[str, Any]:
    """The contract's fields as plain data, for the model to validate (exactly what the v1 model is given)."""
    if plan.registers_institution:
        where = str(_plain(event.jurisdiction))
    elif plan.jurisdiction is not None:
        where = plan.jurisdiction
    else:
        where = _jurisdiction(event, jurisdiction)  # raises UnknownPlacementError without one
    if plan.moves:
        municipality = str(event.to_municipality_ref)
    elif plan.places_itself:
        municipality = str(event.municipality_ref)
    else:
        municipality = _municipality(event, municipality_ref)
    ctx = event.ctx
    actor = ctx.actor
    data: dict[str, Any] = {
        "event_id": f"{event.originator_id}:{event.originator_version}",
        "notification_id": notification_id,
        "case_id": event.originator_id,
        "case_version": event.originator_version,
        "event_type": plan.event_type,
        "schema_version": SCHEMA_VERSION,
        "occurred_at": ctx.occurred_at,
        "recorded_at": event.timestamp,
        "jurisdiction": where,
        "municipality_ref": municipality,
        "actor_person_ref": actor.person_ref,
        "actor_role": _plain(actor.role),
        "actor_org_ref": actor.org_ref,
        "correlation_id": ctx.correlation_id,
        "causation_id": ctx.causation_id,
        "legal_basis": _legal_basis(plan.spec, event, where),
        "rule_id": getattr(event, "rule_id", None) or plan.spec.rule_id,
        "rules_version": getattr(ctx, "rules_version", None) or RULES_VERSION_BEFORE_RECORDING,
    }
    for name, source, convert in plan.fields:
        data[name] = convert(getattr(event, source))
    return data


def to_contract(domain_event: object, notification_id: int, municipality_ref: str | None, *,
                jurisdiction: str | None = None) -> EventEnvelopeV1:
    """The contract of one stored fact (see :func:`to_published`)."""
    plan = _plan_for(type(domain_event))
    return plan.spec.model.model_validate(
        _contract_data(plan, domain_event, notification_id, municipality_ref, jurisdiction))


@lru_cache(maxsize=4096)
def _subject(event_type: str, jurisdiction: str | None, municipality_ref: str) -> str:
    return subject_for(event_type, jurisdiction, municipality_ref)


def to_published(domain_event: object, notification_id: int, app_name: str, municipality_ref: str | None, *,
                 jurisdiction: str | None = None) -> PublishedEvent:
    """Map one stored fact to what the relay publishes.

    ``municipality_ref`` is the aggregate's current municipality (a :class:`MunicipalityTracker` knows it);
    it may be ``None`` for facts that carry their own (the opening facts, ``domicile_changed``,
    ``institution_registered``). ``jurisdiction`` is needed only for directory facts after
    ``institution_registered`` (a case's jurisdiction follows from its class). Raises
    :class:`UnmappedEventError` for a fact without a contract, :class:`UnknownPlacementError` when the
    municipality is needed and not given, and pydantic's ``ValidationError`` if a fact breaks its contract.
    """
    contract = to_contract(domain_event, notification_id, municipality_ref, jurisdiction=jurisdiction)
    headers = {
        "Nats-Msg-Id": f"{app_name}:{notification_id}",
        "Prosperity-Event-Type": contract.event_type,
        "Prosperity-Schema": SCHEMA_VERSION,
        "Prosperity-Correlation-Id": contract.correlation_id,
    }
    traceparent = getattr(getattr(domain_event, "ctx", None), "traceparent", "")
    if traceparent:  # W3C trace context (services.observability.tracing): continues the request's trace
        headers["traceparent"] = traceparent
    subject = _subject(contract.event_type, contract.jurisdiction, contract.municipality_ref)
    return PublishedEvent(subject, contract.model_dump_json().encode(), headers, contract)


# ---- where each aggregate is -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Placement:
    """Where an aggregate belongs: its municipality and jurisdiction."""

    municipality_ref: str
    jurisdiction: str | None


class _Repository(Protocol):
    def get(self, aggregate_id: UUID, *, version: int | None = None) -> Any: ...


def repository_lookup(repository: _Repository) -> Callable[[UUID, int], Placement]:
    """A lookup for :class:`MunicipalityTracker` that reads the aggregate as of the fact's version from
    an eventsourcing repository (``app.repository``): exact even when the domicile changed later."""

    def lookup(aggregate_id: UUID, version: int) -> Placement:
        aggregate = repository.get(aggregate_id, version=version)
        return Placement(aggregate.municipality_ref, _plain(aggregate.jurisdiction))

    return lookup


class MunicipalityTracker:
    """The current municipality (and jurisdiction) of each case and institution, learned from the facts
    the relay publishes, in notification order:

    * an opening fact (``contact_registered``, ``barnekoordinator_requested``, ``institution_registered``)
      places its aggregate;
    * ``domicile_changed`` moves a case to ``to_municipality_ref``;
    * nothing else changes where an aggregate is.

    A relay that starts from the beginning of the log needs nothing else. A relay restarting mid-log
    has not seen the opening facts of older aggregates: either ``seed(aggregate_id, municipality_ref,
    jurisdiction)`` them (e.g. from a read model), or construct the tracker with a ``lookup`` such as
    ``repository_lookup(app.repository)``, which is asked once per unknown aggregate and is exact.
    Memory: one small entry per aggregate seen.

    Usage in the relay::

        tracker = MunicipalityTracker(lookup=repository_lookup(app.repository))
        for n in notifications:
            published = tracker.to_published(app.mapper.to_domain_event(n), n.id, app.name)
    """

    def __init__(self, lookup: Callable[[UUID, int], Placement] | None = None) -> None:
        self._placements: dict[UUID, Placement] = {}
        self._lookup = lookup

    def seed(self, aggregate_id: UUID, municipality_ref: str, jurisdiction: str | None = None) -> None:
        """Tell the tracker where an aggregate is (for a relay that starts mid-log)."""
        self._placements[aggregate_id] = Placement(municipality_ref, jurisdiction)

    def municipality_of(self, aggregate_id: UUID) -> str | None:
        placement = self._placements.get(aggregate_id)
        return None if placement is None else placement.municipality_ref

    def jurisdiction_of(self, aggregate_id: UUID) -> str | None:
        placement = self._placements.get(aggregate_id)
        return None if placement is None else placement.jurisdiction

    def placement_of(self, aggregate_id: UUID) -> Placement | None:
        return self._placements.get(aggregate_id)

    @property
    def lookup(self) -> Callable[[UUID, int], Placement] | None:
        """What the tracker asks about an aggregate it has not seen (``contracts.stored_mapping`` asks it too)."""
        return self._lookup

    def observe(self, domain_event: object) -> str | None:
        """Learn from one fact (call in notification order); return the aggregate's municipality after it
        (``None`` if unknown: no opening fact seen, no seed, no lookup)."""
        placement = self._observe(domain_event)
        return None if placement is None else placement.municipality_ref

    def _observe(self, domain_event: object) -> Placement | None:
        event: Any = domain_event
        aggregate_id: UUID = event.originator_id
        known = self._placements.get(aggregate_id)
        if isinstance(event, _CREATION_EVENTS):
            known = Placement(event.municipality_ref, _jurisdiction(event, None))
        elif isinstance(event, _DOMICILE_CHANGED):
            known = Placement(event.to_municipality_ref, "IS")
        elif known is None and self._lookup is not None:
            known = self._lookup(aggregate_id, event.originator_version)
        if known is not None:
            self._placements[aggregate_id] = known
        return known

    def to_published(self, domain_event: object, notification_id: int, app_name: str) -> PublishedEvent:
        """Observe the fact, then map it with the aggregate's municipality and jurisdiction."""
        placement = self._observe(domain_event)
        return to_published(domain_event, notification_id, app_name,
                            None if placement is None else placement.municipality_ref,
                            jurisdiction=None if placement is None else placement.jurisdiction)

    def to_contract(self, domain_event: object, notification_id: int) -> EventEnvelopeV1:
        """Observe the fact, then map it to its contract only: what a rebuild reads (no payload, no subject)."""
        placement = self._observe(domain_event)
        return to_contract(domain_event, notification_id, None if placement is None else placement.municipality_ref,
                           jurisdiction=None if placement is None else placement.jurisdiction)


PUBLISHED_TOPICS: tuple[str, ...] = _published_topics()
"""Topics of the facts with a contract (see :func:`_published_topics`)."""
