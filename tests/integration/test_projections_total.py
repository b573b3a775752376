"""Projections are total: every read model applies every fact the published contracts accept, on real PostgreSQL.

For every event type, hypothesis draws contracts over the whole range the model accepts
(``tests/integration/contract_strategies.py``: year 1 to 9999, instants at the ends of the calendar in extreme
offsets, unbounded integers, text with NUL) and each of the three projections applies it, through the runtime's
own gating, on top of an opening fact of the same case: the projection must return statements, and PostgreSQL must
take them. Then the sequences the domain's state machines produce (``tests/unit/test_case_state_machine.py``) go
through all three, in order.

Size: ``EXAMPLES`` examples x 57 event types x 3 projections (plus the opening fact of each example), and
``MACHINE_EXAMPLES`` state-machine runs per law of up to 30 steps, each fact through the 3 projections.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from contracts import events as ev
from contracts.events import EVENT_MODELS, EventEnvelopeV1
from contracts.mapping import MunicipalityTracker
from projections.audit.projection import AuditProjection
from projections.dashboard.projection import DashboardProjection
from projections.notifications.projection import NotificationsProjection
from services.consumers.store import Outcome, ReadModelStore
from services.infra.postgres_env import PgTarget, drop_schema, ensure_schema
from tests.integration.contract_strategies import contracts
from tests.unit.test_case_state_machine import IcelandCaseMachine, NorwayCaseMachine

EXAMPLES = 25
MACHINE_EXAMPLES = 40
NO_SHRINKING = (Phase.explicit, Phase.reuse, Phase.generate)
"""A failing example is reported as drawn (with the error and the payload): shrinking one costs minutes of
database round trips and adds little to a totality failure."""
OPENING: dict[str, type[EventEnvelopeV1]] = {"IS": ev.ContactRegisteredV1, "NO": ev.BarnekoordinatorRequestedV1}
OPENERS: list[type[EventEnvelopeV1]] = [*OPENING.values(), ev.InstitutionRegisteredV1]
OPENING_TYPES = {ev.event_type_of(model) for model in OPENERS}


@pytest.fixture(scope="module")
def stores(pg_dsn: str) -> Iterator[list[ReadModelStore]]:
    """One generation of each read model, in a schema of this module's own."""
    target = PgTarget(dsn=pg_dsn, schema=f"t_{uuid.uuid4().hex[:12]}")
    ensure_schema(target.dsn, target.schema)
    opened = [ReadModelStore(target.dsn, projection, base_schema=target.schema, pool_size=1)
              for projection in (DashboardProjection(), AuditProjection(), NotificationsProjection())]
    try:
        for store in opened:
            store.setup()
        yield opened
    finally:
        for store in opened:
            store.close()
        for store in opened:
            drop_schema(target.dsn, store.schema_for(1))
        drop_schema(target.dsn, target.schema)


def apply_everywhere(stores: list[ReadModelStore], events: list[EventEnvelopeV1]) -> None:
    """Each event, in order, through the runtime's gating into every read model, under a case id of its own (each
    example its own case): each must be applied."""
    renamed: dict[UUID, UUID] = {}
    for drawn in events:
        event = drawn.model_copy(update=in_case(renamed.setdefault(drawn.case_id, uuid.uuid4()), drawn.case_version))
        for store in stores:
            applied = store.apply_to(store.serving().schema, event, quarantine=False, quarantine_parked=False)
            assert applied.outcome is Outcome.APPLIED, (store.projection.name, event.event_type, applied.error,
                                                         event.model_dump_json()[:2000])


def in_case(case_id: UUID, version: int) -> dict[str, Any]:
    return {"case_id": case_id, "case_version": version, "event_id": f"{case_id}:{version}"}


DRAWN_CASE = UUID(int=0)
"""The case id the strategies give every fact; :func:`apply_everywhere` gives each example a fresh one."""


def facts_of(event_type: str) -> st.SearchStrategy[list[EventEnvelopeV1]]:
    """A case: the event at version 1 if it opens one, else an opening fact and then the event."""
    model = EVENT_MODELS[event_type]
    if event_type in OPENING_TYPES:
        return contracts(model, **in_case(DRAWN_CASE, 1)).map(lambda event: [event])
    openers: list[type[EventEnvelopeV1]] = ([ev.InstitutionRegisteredV1] if event_type in ev.DIRECTORY_EVENT_TYPES
                                            else list(OPENING.values()))
    opening = st.sampled_from(openers).flatmap(lambda opener: contracts(opener, **in_case(DRAWN_CASE, 1)))
    return st.tuples(opening, contracts(model, **in_case(DRAWN_CASE, 2))).map(list)


@pytest.mark.parametrize("event_type", sorted(EVENT_MODELS))
def test_every_projection_applies_every_fact_its_contract_accepts(stores: list[ReadModelStore],
                                                                   event_type: str) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=NO_SHRINKING,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                     HealthCheck.function_scoped_fixture])
    @given(facts=facts_of(event_type))
    def applies(facts: list[EventEnvelopeV1]) -> None:
        apply_everywhere(stores, facts)

    applies()


def _fed(machine: type[Any], stores: list[ReadModelStore]) -> type[Any]:
    """The domain's state machine, whose facts (each run's, under fresh case ids) go through every read model."""

    class Fed(machine):  # type: ignore[misc]
        def teardown(self) -> None:
            tracker = MunicipalityTracker()
            apply_everywhere(stores, [tracker.to_published(self.app.mapper.to_domain_event(notification),
                                                           notification.id, self.app.name).contract
                                      for notification in self.app.recorder.select_notifications(start=None,
                                                                                                  limit=10**6)])
            super().teardown()

    Fed.TestCase.settings = settings(Fed.TestCase.settings, max_examples=MACHINE_EXAMPLES, database=None,
                                     phases=NO_SHRINKING)
    return Fed


@pytest.mark.parametrize("machine", [IcelandCaseMachine, NorwayCaseMachine], ids=["iceland", "norway"])
def test_every_projection_applies_the_sequences_the_domain_state_machines_produce(
        stores: list[ReadModelStore], machine: type[Any]) -> None:
    _fed(machine, stores).TestCase().runTest()
