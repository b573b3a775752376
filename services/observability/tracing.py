"""OpenTelemetry traces, end to end: API request → stored fact → relay → consumer → notifier.

Off by default. ``opentelemetry-api`` is always installed (faststream needs it) and, without an SDK, every
span is a no-op: nothing here costs more than a context-variable read. ``pip install 'prosperity[tracing]'``
adds the SDK and the OTLP exporter; :func:`enable` (called by each process's bootstrap when
``PROSPERITY_TRACING`` is ``otlp`` or ``console``) installs a tracer provider.

How the trace crosses the store and the bus: the API's request span is current while a command runs, so
``Casework`` stores its W3C ``traceparent`` in the fact's :class:`~domain.values.Context`, beside the
correlation id. The relay sends it as the ``traceparent`` header (the W3C name, which faststream's and
every other OpenTelemetry propagator reads), and a consumer opens one span per fact as the header's child:
faststream's own telemetry middleware makes one span per *batch* (linked to each message), which would give
a fact's log line the batch's trace instead of the request's. :func:`add_trace_ids` puts the current trace
and span id on every structlog line.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any, Literal

from opentelemetry import propagate, trace

TRACER = trace.get_tracer("prosperity")
Exporter = Literal["off", "console", "otlp"]


def current_traceparent() -> str:
    """The W3C ``traceparent`` of the current span, or "" when there is none (tracing off)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent", "")


@contextmanager
def span_from(headers: Mapping[str, str] | None, name: str, **attributes: Any) -> Iterator[None]:
    """A span that continues the trace named by ``headers``' ``traceparent`` (a no-op with tracing off)."""
    if not (headers and "traceparent" in headers) and isinstance(
            trace.get_tracer_provider(), trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        # Tracing off and no trace to continue: nothing to do. Even the API's no-op span cost 12 µs (a consumer opens
        # one per fact, issue 14, P3); with a ``traceparent`` it is still made, so log lines carry the caller's ids.
        yield
        return
    parent = propagate.extract(dict(headers or {}))
    with TRACER.start_as_current_span(name, context=parent, kind=trace.SpanKind.CONSUMER, attributes=attributes):
        yield


def add_trace_ids(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: the current trace and span id on every line (absent when there is no span)."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict.setdefault("trace_id", format(context.trace_id, "032x"))
        event_dict.setdefault("span_id", format(context.span_id, "016x"))
    return event_dict


def enable(exporter: Exporter, service_name: str, endpoint: str | None = None) -> bool:
    """Install the SDK's tracer provider for this process; False (and nothing changed) when ``off`` or when
    the ``tracing`` extra is not installed."""
    if exporter == "off":
        return False
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
    except ImportError:
        return False
    span_exporter: SpanExporter
    if exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        span_exporter = OTLPSpanExporter(endpoint=endpoint) if endpoint else OTLPSpanExporter()
    else:
        span_exporter = ConsoleSpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(span_exporter))
    trace.set_tracer_provider(provider)
    return True
