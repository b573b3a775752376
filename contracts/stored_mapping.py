"""The relay's mapping, from a fact's stored state straight to its published JSON.

:func:`contracts.mapping.to_published` starts from the domain's event object and lets the v1 model validate and
serialise the contract. The relay does not need either step: the store holds only facts the domain recorded
(each command's values passed the same grammars first), and turning the domain's enums, dates and frozen
records back into JSON is all that is left to do. Here the stored state is decoded to plain JSON values
(``services.casework.transcodings.decode_plain``), placed in the contract's field order, and written by orjson;
that took the relay's CPU per fact from ~92 µs to ~55 µs (bench/relay_throughput.py, issue 14, quiet machine).

It is the same mapping, not a second one: the plan (which contract field comes from which fact field, what is
derived, what is withheld, the rule id and legal basis) is :func:`contracts.mapping._plan_for`'s, and
``tests/unit/test_contracts_mapping_equivalence.py`` requires byte-identical subjects, headers and payloads for
every fact of the scenarios. Whatever this module does not know how to map from the stored state (a derived field
without a plain version, a fact class without a plan) raises :class:`NotPlain`, and the caller maps that fact the
validated way instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from contracts.events import SCHEMA_VERSION
from contracts.mapping import (
    _CREATION_EVENTS,
    _DOMICILE_CHANGED,
    _JURISDICTION_OF_AGGREGATE,
    _SAME_LAW,
    ICELAND_LEGAL_BASIS,
    NORWAY_LEGAL_BASIS,
    MunicipalityTracker,
    Placement,
    _birth_year,
    _owner_name,
    _Plan,
    _plan_for,
    _subject,
)
from domain.values import RULES_VERSION_BEFORE_RECORDING


class NotPlain(LookupError):
    """This fact cannot be mapped from its stored state here; map it from its domain event instead."""


def _plain_birth_year(birth_date: str | None) -> int | None:
    return None if birth_date is None else int(birth_date[:4])


_PLAIN_DERIVATIONS: dict[Callable[[Any], Any], Callable[[Any], Any]] = {_birth_year: _plain_birth_year}
"""Each derivation of ``contracts.mapping`` on domain values → the same on the stored (plain) value."""
_ABSENT = object()


@dataclass(frozen=True)
class OutgoingFact:
    """What the relay publishes for one fact: ``contracts.mapping.PublishedEvent`` without the contract object."""

    subject: str
    payload: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class _PlainPlan:
    plan: _Plan
    fields: tuple[tuple[str, str, Callable[[Any], Any] | None], ...]
    """(contract field, fact field, derivation on the plain value or None to copy it)."""
    order: tuple[str, ...]
    """The contract's fields in its model's order (the order pydantic writes them)."""
    class_version: int
    upcasters: tuple[Callable[[dict[str, Any]], None], ...]


_PLANS: dict[type, _PlainPlan] = {}


def _plain_plan(event_class: type) -> _PlainPlan:
    found = _PLANS.get(event_class)
    if found is None:
        try:
            plan = _plan_for(event_class)
        except LookupError as error:
            raise NotPlain(str(error)) from error
        own: list[tuple[str, str, Callable[[Any], Any] | None]] = []
        derived = plan.spec.derived
        for name, source, _ in plan.fields:
            if name in derived:
                plain = _PLAIN_DERIVATIONS.get(derived[name][1])
                if plain is None:
                    raise NotPlain(f"{name} of {event_class.__qualname__} has no plain derivation")
                own.append((name, source, plain))
            else:
                own.append((name, source, None))
        version = getattr(event_class, "class_version", 1)
        found = _PlainPlan(plan, tuple(own), tuple(plan.spec.model.model_fields), version,
                           tuple(getattr(event_class, f"upcast_v{v}_v{v + 1}") for v in range(1, version)))
        _PLANS[event_class] = found
    return found


def placement_from_state(tracker: MunicipalityTracker, event_class: type, originator_id: Any, version: int,
                         state: dict[str, Any]) -> Placement | None:
    """``MunicipalityTracker.observe`` for a fact known by its class and stored state."""
    if issubclass(event_class, _CREATION_EVENTS):
        where = (str(state["jurisdiction"]) if _plain_plan(event_class).plan.registers_institution
                 else _JURISDICTION_OF_AGGREGATE[_owner_name(event_class)])
        placement: Placement | None = Placement(state["municipality_ref"], where)
    elif issubclass(event_class, _DOMICILE_CHANGED):
        placement = Placement(state["to_municipality_ref"], "IS")
    else:
        placement = tracker.placement_of(originator_id)
        if placement is None and tracker.lookup is not None:
            placement = tracker.lookup(originator_id, version)
    if placement is not None:
        tracker.seed(originator_id, placement.municipality_ref, placement.jurisdiction)
    return placement


def outgoing_from_state(event_class: type, originator_id: Any, version: int, state: dict[str, Any],
                        notification_id: int, app_name: str, placement: Placement | None) -> OutgoingFact:
    """The subject, payload and headers :func:`contracts.mapping.to_published` gives for this fact."""
    plain = _plain_plan(event_class)
    plan = plain.plan
    from_version = state.pop("class_version", 1)
    for upcast in plain.upcasters[from_version - 1:]:
        upcast(state)
    if plan.registers_institution:
        where = str(state["jurisdiction"])
    elif plan.jurisdiction is not None:
        where = plan.jurisdiction
    elif placement is not None and placement.jurisdiction is not None:
        where = placement.jurisdiction
    else:
        raise NotPlain("the jurisdiction of a directory fact is unknown")
    if plan.moves:
        municipality = str(state["to_municipality_ref"])
    elif plan.places_itself:
        municipality = str(state["municipality_ref"])
    elif placement is not None:
        municipality = placement.municipality_ref
    else:
        raise NotPlain("the municipality is unknown")
    ctx = state["ctx"]
    actor = ctx["actor"]
    case_id = str(originator_id)
    correlation_id = ctx.get("correlation_id", "")
    data: dict[str, Any] = {
        "event_id": f"{case_id}:{version}", "notification_id": notification_id, "case_id": case_id,
        "case_version": version, "event_type": plan.event_type, "schema_version": SCHEMA_VERSION,
        "occurred_at": ctx["occurred_at"], "recorded_at": state["timestamp"], "jurisdiction": where,
        "municipality_ref": municipality, "actor_person_ref": actor["person_ref"], "actor_role": actor["role"],
        "actor_org_ref": actor.get("org_ref"), "correlation_id": correlation_id,
        "causation_id": ctx.get("causation_id", ""), "legal_basis": _legal_basis(plan, event_class, state, where),
        "rule_id": _attribute(event_class, state, "rule_id") or plan.spec.rule_id,
        "rules_version": ctx.get("rules_version") or RULES_VERSION_BEFORE_RECORDING,
    }
    for name, source, derive in plain.fields:
        value = _attribute(event_class, state, source, required=True)
        data[name] = value if derive is None else derive(value)
    payload = orjson.dumps({name: data[name] for name in plain.order}, option=orjson.OPT_UTC_Z)
    headers = {"Nats-Msg-Id": f"{app_name}:{notification_id}", "Prosperity-Event-Type": plan.event_type,
               "Prosperity-Schema": SCHEMA_VERSION, "Prosperity-Correlation-Id": correlation_id}
    if traceparent := ctx.get("traceparent"):
        headers["traceparent"] = traceparent
    return OutgoingFact(_subject(plan.event_type, where, municipality), payload, headers)


def _attribute(event_class: type, state: dict[str, Any], name: str, *, required: bool = False,
               default: Any = None) -> Any:
    """``getattr(event, name)`` on the event the state would make: its own value, else the class's."""
    value = state.get(name, _ABSENT)
    if value is _ABSENT:
        value = getattr(event_class, name, _ABSENT)
        if value is _ABSENT:
            if required:
                raise NotPlain(f"{event_class.__qualname__} stored without {name}")
            return default
    return value


def _legal_basis(plan: _Plan, event_class: type, state: dict[str, Any], where: str) -> str | None:
    own = _attribute(event_class, state, "legal_basis", default=_ABSENT)
    if own is not _ABSENT:
        return str(own)
    if plan.spec.legal_basis is not _SAME_LAW:
        return None if plan.spec.legal_basis is None else str(plan.spec.legal_basis)
    return {"IS": ICELAND_LEGAL_BASIS, "NO": NORWAY_LEGAL_BASIS}.get(where)
