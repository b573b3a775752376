"""The relay's mapping, sped up, publishes byte for byte what the plain, validated mapping publishes.

``contracts.mapping`` works out per fact class once what it needs (``_plan_for``) and skips the domain's
double reference check where pydantic's pattern already did half of it (``contracts.refs``). The oracle
here is the mapping written the slow, obvious way: every envelope field and every contract field looked up
from the spec on each call, each value made plain by the generic rules, then validated by the v1 contract
model with the domain's own ``check_ref`` after the pattern, and serialized by that model. For every fact of
the walkthrough lifecycles and of the test scenarios of ``test_contracts``, subject, headers, contract and
payload bytes must be identical, and the payload must parse back into the same contract.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from enum import Enum
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import Notification
from eventsourcing.utils import resolve_topic

from contracts.events import ENVELOPE_FIELDS, EVENT_MODELS, SCHEMA_VERSION, parse_event
from contracts.mapping import (
    _ENVELOPE_KEYS,
    ICELAND_LEGAL_BASIS,
    NORWAY_LEGAL_BASIS,
    PUBLISHED_TOPICS,
    MunicipalityTracker,
    PublishedEvent,
    _Spec,
    _spec_for,
    repository_lookup,
)
from contracts.stored_mapping import NotPlain, outgoing_from_state, placement_from_state
from contracts.subjects import subject_for
from domain.case_iceland import IcelandCase
from domain.case_norway import NorwayCase
from domain.directory import Institution
from domain.legal_settings import LegalSettings
from domain.values import check_ref
from services.casework.application import Casework
from services.casework.transcodings import decode_plain
from services.walkthrough import iceland_lifecycle, norway_lifecycle
from tests.unit.rights_scenario import rights_scenario
from tests.unit.test_contracts import MEMORY, clock_scenario, domicile_scenario, edge_scenarios

# ---- the oracle: the mapping as first written --------------------------------------------------------------
_DOMICILE_CHANGED: Any = vars(IcelandCase)["DomicileChanged"]
_OPENING_FACTS = (IcelandCase.ContactRegistered, NorwayCase.BarnekoordinatorRequested, Institution.Registered)


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _legal_basis(spec: _Spec, event: Any, jurisdiction: str) -> str | None:
    if hasattr(event, "legal_basis"):
        return str(event.legal_basis)
    if spec.legal_basis is not _spec_for(IcelandCase.ContactRegistered).legal_basis:  # a fixed one (or none)
        return None if spec.legal_basis is None else str(spec.legal_basis)
    return {"IS": ICELAND_LEGAL_BASIS, "NO": NORWAY_LEGAL_BASIS}.get(jurisdiction)


def reference_data(event: Any, notification_id: int, placement: tuple[str, str | None]) -> dict[str, Any]:
    """The contract's input, every lookup made on the spot (no per-class plan)."""
    spec = _spec_for(type(event))
    if isinstance(event, Institution.Registered):
        where = str(_plain(event.jurisdiction))
    elif isinstance(event, IcelandCase.Event):
        where = "IS"
    elif isinstance(event, NorwayCase.Event):
        where = "NO"
    else:
        assert placement[1] is not None
        where = placement[1]
    if isinstance(event, _DOMICILE_CHANGED):
        municipality = str(event.to_municipality_ref)
    elif isinstance(event, _OPENING_FACTS):
        municipality = str(event.municipality_ref)
    else:
        municipality = placement[0]
    data: dict[str, Any] = {
        "event_id": f"{event.originator_id}:{event.originator_version}", "notification_id": notification_id,
        "case_id": event.originator_id, "case_version": event.originator_version, "event_type": spec.event_type,
        "schema_version": SCHEMA_VERSION, "occurred_at": event.ctx.occurred_at, "recorded_at": event.timestamp,
        "jurisdiction": where, "municipality_ref": municipality, "actor_person_ref": event.ctx.actor.person_ref,
        "actor_role": _plain(event.ctx.actor.role), "actor_org_ref": event.ctx.actor.org_ref,
        "correlation_id": event.ctx.correlation_id, "causation_id": event.ctx.causation_id,
        "legal_basis": _legal_basis(spec, event, where), "rule_id": getattr(event, "rule_id", None) or spec.rule_id,
        "rules_version": event.ctx.rules_version,
    }
    for name in spec.model.model_fields:
        if name in data:
            continue
        if name in spec.derived:
            source, compute = spec.derived[name]
            data[name] = compute(getattr(event, source))
        else:
            data[name] = _plain(getattr(event, spec.renames.get(name, name)))
    return data


def reference_published(event: Any, notification_id: int, app_name: str,
                        placement: tuple[str, str | None]) -> PublishedEvent:
    contract = _spec_for(type(event)).model.model_validate(reference_data(event, notification_id, placement))
    _check_refs_as_the_domain_does(contract.model_dump(mode="json"))
    headers = {"Nats-Msg-Id": f"{app_name}:{notification_id}", "Prosperity-Event-Type": contract.event_type,
               "Prosperity-Schema": SCHEMA_VERSION, "Prosperity-Correlation-Id": contract.correlation_id}
    subject = subject_for(contract.event_type, contract.jurisdiction, contract.municipality_ref)
    return PublishedEvent(subject, contract.model_dump_json().encode(), headers, contract)


_KINDS = ("doc", "muni", "org", "person")
_A_REFERENCE = re.compile(r"^(person|org|doc|muni):[A-Za-z0-9._-]{1,80}\Z")


def _check_refs_as_the_domain_does(value: Any) -> None:
    """The domain's whole ``check_ref`` on every reference in a payload (what the contract's validators ran
    before; it raises on a refused one)."""
    if isinstance(value, dict):
        for item in value.values():
            _check_refs_as_the_domain_does(item)
    elif isinstance(value, list):
        for item in value:
            _check_refs_as_the_domain_does(item)
    elif isinstance(value, str) and (match := _A_REFERENCE.match(value)):
        check_ref("ref", value, match[1])


# ---- the facts ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def app() -> Iterator[Casework]:
    casework = Casework(env=MEMORY, legal_settings=LegalSettings(t3_plan_drafting_days=30))
    iceland_lifecycle(casework)
    norway_lifecycle(casework)
    domicile_scenario(casework)
    edge_scenarios(casework)
    clock_scenario(casework)
    rights_scenario(casework)
    yield casework


@pytest.fixture(scope="module")
def stored(app: Casework) -> list[tuple[int, Any]]:
    return [(n.id, app.mapper.to_domain_event(n)) for n in app.recorder.select_notifications(
        start=None, limit=10**6, topics=PUBLISHED_TOPICS)]


def _placements(stored: list[tuple[int, Any]]) -> list[tuple[str, str | None]]:
    """Where each fact's aggregate is when it is published, followed independently of MunicipalityTracker."""
    where: dict[UUID, tuple[str, str | None]] = {}
    placements = []
    for _, event in stored:
        if isinstance(event, _DOMICILE_CHANGED):
            where[event.originator_id] = (event.to_municipality_ref, "IS")
        elif isinstance(event, Institution.Registered):
            where[event.originator_id] = (event.municipality_ref, str(_plain(event.jurisdiction)))
        elif isinstance(event, IcelandCase.ContactRegistered):
            where[event.originator_id] = (event.municipality_ref, "IS")
        elif isinstance(event, NorwayCase.BarnekoordinatorRequested):
            where[event.originator_id] = (event.municipality_ref, "NO")
        placements.append(where[event.originator_id])
    return placements


def test_every_fact_publishes_byte_identical_payloads_to_the_validated_mapping(
        app: Casework, stored: list[tuple[int, Any]]) -> None:
    tracker = MunicipalityTracker()
    event_types = set()
    for (notification_id, event), placement in zip(stored, _placements(stored), strict=True):
        fast = tracker.to_published(event, notification_id, app.name)
        oracle = reference_published(event, notification_id, app.name, placement)
        assert fast.payload == oracle.payload, f"{notification_id} {type(event).__qualname__}"
        assert (fast.subject, fast.headers, fast.contract) == (oracle.subject, oracle.headers, oracle.contract)
        assert parse_event(fast.payload) == oracle.contract
        event_types.add(oracle.contract.event_type)
    assert event_types == set(EVENT_MODELS)


def test_the_plan_fills_exactly_the_envelope_from_the_store_and_the_context() -> None:
    assert _ENVELOPE_KEYS == ENVELOPE_FIELDS


def test_a_relay_restarting_mid_log_maps_identically_too(app: Casework, stored: list[tuple[int, Any]]) -> None:
    placements = _placements(stored)
    tracker = MunicipalityTracker(lookup=repository_lookup(app.repository))
    middle = len(stored) // 2
    for (notification_id, event), placement in zip(stored[middle:], placements[middle:], strict=True):
        assert (tracker.to_published(event, notification_id, app.name).payload
                == reference_published(event, notification_id, app.name, placement).payload)


# ---- the relay's path: from the stored state, never through the domain's objects ------------------------------
def _from_state(app: Casework, notifications: list[Notification], tracker: MunicipalityTracker) -> list[Any]:
    out = []
    for n in notifications:
        event_class = resolve_topic(n.topic)
        state = decode_plain(n.state)
        placement = placement_from_state(tracker, event_class, n.originator_id, n.originator_version, state)
        out.append(outgoing_from_state(event_class, n.originator_id, n.originator_version, state, n.id, app.name,
                                       placement))
    return out


def test_the_stored_state_path_publishes_byte_identical_facts(app: Casework, stored: list[tuple[int, Any]]) -> None:
    """contracts.stored_mapping: subject, headers and payload bytes as the validated mapping, for every fact."""
    notifications = list(app.recorder.select_notifications(start=None, limit=10**6, topics=PUBLISHED_TOPICS))
    outgoing = _from_state(app, notifications, MunicipalityTracker())
    event_types = set()
    for out, (notification_id, event), placement in zip(outgoing, stored, _placements(stored), strict=True):
        oracle = reference_published(event, notification_id, app.name, placement)
        assert out.payload == oracle.payload, f"{notification_id} {type(event).__qualname__}"
        assert (out.subject, out.headers) == (oracle.subject, oracle.headers)
        event_types.add(oracle.contract.event_type)
    assert event_types == set(EVENT_MODELS)


def test_the_stored_state_path_restarting_mid_log_asks_the_repository(app: Casework) -> None:
    notifications = list(app.recorder.select_notifications(start=None, limit=10**6, topics=PUBLISHED_TOPICS))
    middle = len(notifications) // 2
    whole = _from_state(app, notifications, MunicipalityTracker())[middle:]
    restarted = _from_state(app, notifications[middle:], MunicipalityTracker(lookup=repository_lookup(app.repository)))
    assert [(o.subject, o.payload) for o in restarted] == [(o.subject, o.payload) for o in whole]


def test_a_fact_without_a_contract_is_not_mapped_from_its_state() -> None:
    with pytest.raises(NotPlain):
        outgoing_from_state(IcelandCase.Created, uuid4(), 1, {}, 1, "Casework", None)
