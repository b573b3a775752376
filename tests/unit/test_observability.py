"""Metrics and traces: request metrics by route template, the relay's and the outbox's collectors read at
scrape time, and the trace context carried from a request into a stored fact and onto the bus."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.registry import Collector

from contracts.mapping import PUBLISHED_TOPICS, MunicipalityTracker
from services.casework.application import Casework
from services.observability import metrics, tracing
from services.observability.http import UNMATCHED, RequestMetrics, RequestSpans
from services.walkthrough import iceland_lifecycle

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


def sample(name: str, **labels: str) -> float:
    value = REGISTRY.get_sample_value(name, labels)
    return value or 0.0


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    """The SDK's tracer provider with an in-memory exporter (a process may set its provider only once)."""
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


def app_with(*middlewares: Any) -> FastAPI:
    app = FastAPI()

    @app.get("/v1/cases/{case_id}")
    def case(case_id: str) -> dict[str, str]:
        return {"traceparent": tracing.current_traceparent()}

    for middleware in middlewares:
        app.add_middleware(middleware)
    return app


def test_requests_are_counted_by_route_template_never_by_identifier() -> None:
    client = TestClient(app_with(RequestMetrics))
    route = "/v1/cases/{case_id}"
    before = sample("prosperity_http_requests_total", method="GET", route=route, status="200")
    unmatched = sample("prosperity_http_requests_total", method="GET", route=UNMATCHED, status="404")
    for _ in range(3):
        assert client.get(f"/v1/cases/{uuid4()}").status_code == 200
    assert client.get("/nowhere").status_code == 404
    assert sample("prosperity_http_requests_total", method="GET", route=route, status="200") == before + 3
    assert sample("prosperity_http_requests_total", method="GET", route=UNMATCHED, status="404") == unmatched + 1
    assert sample("prosperity_http_request_duration_seconds_count", method="GET", route=route) >= 3
    assert "/v1/cases/{case_id}" in generate_latest(REGISTRY).decode()


@dataclass
class RelayFigures:
    published: int = 0
    duplicates: int = 0
    is_leader: bool = False
    position_now: int = 0


def collected(collector: Collector) -> dict[str, float]:
    registry = CollectorRegistry()
    registry.register(collector)
    return {s.name + ("{" + ",".join(f"{k}={v}" for k, v in sorted(s.labels.items())) + "}" if s.labels else ""):
            s.value for family in registry.collect() for s in family.samples}


def test_the_relay_collector_reads_the_relay_at_scrape_time() -> None:
    relay = RelayFigures()
    figures = metrics.RelayCollector(relay, lambda: 10)
    assert collected(figures)["prosperity_relay_lag"] == 10
    relay.published, relay.position_now, relay.is_leader = 7, 7, True
    now = collected(figures)
    assert (now["prosperity_relay_published_total"], now["prosperity_relay_leader"], now["prosperity_relay_lag"]) \
        == (7, 1, 3)


def test_an_unreachable_store_leaves_the_lag_unknown_not_zero() -> None:
    def away() -> int:
        raise OSError("connection refused")

    now = collected(metrics.RelayCollector(RelayFigures(position_now=4), away))
    assert "prosperity_relay_lag" not in now and now["prosperity_relay_position"] == 4


def test_the_outbox_collector_reports_every_status_and_the_oldest_waiting_notice() -> None:
    now = collected(metrics.OutboxCollector(lambda: [("pending", 3, 120.5), ("sent", 9, 0.0)]))
    assert now["prosperity_notifier_outbox{status=pending}"] == 3
    assert now["prosperity_notifier_outbox{status=dead}"] == 0
    assert now["prosperity_notifier_oldest_pending_seconds"] == 120.5


def test_a_callers_trace_context_is_continued_by_the_request(spans: InMemorySpanExporter) -> None:
    client = TestClient(app_with(RequestSpans))
    answered = client.get(f"/v1/cases/{uuid4()}", headers={"traceparent": TRACEPARENT}).json()["traceparent"]
    assert answered.split("-")[1] == TRACE_ID
    finished = [s for s in spans.get_finished_spans() if s.context.trace_id == int(TRACE_ID, 16)]
    assert "GET /v1/cases/{case_id}" in [s.name for s in finished]  # FastAPI adds its own spans inside it


def test_without_a_caller_context_the_request_starts_its_own_trace(spans: InMemorySpanExporter) -> None:
    client = TestClient(app_with(RequestSpans))
    first = client.get(f"/v1/cases/{uuid4()}").json()["traceparent"]
    second = client.get(f"/v1/cases/{uuid4()}").json()["traceparent"]
    assert first and second and first.split("-")[1] != second.split("-")[1]


def test_log_lines_carry_the_current_trace_and_span(spans: InMemorySpanExporter) -> None:
    assert "trace_id" not in tracing.add_trace_ids(None, "info", {})
    with tracing.span_from({"traceparent": TRACEPARENT}, "apply fact"):
        line = tracing.add_trace_ids(None, "info", {"event": "consumer.fact"})
    assert line["trace_id"] == TRACE_ID and len(line["span_id"]) == 16


def test_a_fact_stores_its_requests_trace_context_and_publishes_it_as_a_header(spans: InMemorySpanExporter) -> None:
    app = Casework()  # in memory
    with tracing.span_from({"traceparent": TRACEPARENT}, "POST /v1/cases/iceland"):
        case_id = iceland_lifecycle(app, child="person:child-trace")
    untraced = iceland_lifecycle(app, child="person:child-untraced")
    tracker = MunicipalityTracker()
    published: dict[Any, list[Any]] = {}
    for notification in app.recorder.select_notifications(start=1, limit=1000):
        if notification.topic not in PUBLISHED_TOPICS:  # the case's natural key is never published
            continue
        event = app.mapper.to_domain_event(notification)
        published.setdefault(event.originator_id, []).append(tracker.to_published(event, notification.id, app.name))
    traced = {p.headers.get("traceparent", "").split("-")[1] for p in published[case_id]}
    assert traced == {TRACE_ID}
    assert all("traceparent" not in p.headers for p in published[untraced])
