"""Every metric prosperity exposes, named once.

Why two kinds: counters and histograms are observed where the work happens (a request answered, a fact
applied, a dead letter published), while state that already lives in an object or a table (the relay's
position and leadership, the notifier's outbox) is read at scrape time by a custom collector, as
prometheus-client's own guidance for exporters recommends: nothing on the hot path, and the figure is
never stale. All live in prometheus-client's default registry, which each process serves on ``/metrics``.

Labels carry rule ids, routes, read-model names, statuses and kinds only: never a case id, a person or free
text (cardinality stays bounded and no personal data leaves through metrics).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

PREFIX = "prosperity"

# The HTTP API -------------------------------------------------------------------------------------------------
HTTP_REQUESTS = Counter(f"{PREFIX}_http_requests", "HTTP requests answered, by route template and status.",
                        ["method", "route", "status"])
HTTP_DURATION = Histogram(f"{PREFIX}_http_request_duration_seconds", "Time to answer an HTTP request.",
                          ["method", "route"],
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
REFUSALS = Counter(f"{PREFIX}_refusals", "Commands and reads refused, by the rule id that refused them.",
                   ["rule"])

# The read models' consumers -----------------------------------------------------------------------------------
APPLIED = Counter(f"{PREFIX}_consumer_facts", "Facts a read model's consumer handled, by outcome "
                  "(applied, duplicate, held = waiting for an earlier version, failed, quarantined).",
                  ["read_model", "outcome"])
APPLY_SECONDS = Histogram(f"{PREFIX}_consumer_apply_seconds", "Time to apply one fact to a read model.",
                          ["read_model"], buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0))
PENDING = Gauge(f"{PREFIX}_consumer_pending", "Messages in the stream the read model's durable has not yet been "
                "given (JetStream's num_pending at the last fetched message).", ["read_model"])
DEAD_LETTERS = Counter(f"{PREFIX}_consumer_dead_letters", "Messages set aside to the dead-letter stream, by kind.",
                       ["read_model", "kind"])

# The clock ----------------------------------------------------------------------------------------------------
DEADLINE_FACTS = Counter(f"{PREFIX}_deadline_facts", "Deadline facts the clock recorded (warned, breached, ...), "
                         "by rule id.", ["rule", "kind"])


def observe_outcome(read_model: str, outcome: str, seconds: float | None = None) -> None:
    APPLIED.labels(read_model=read_model, outcome=outcome).inc()
    if seconds is not None:
        APPLY_SECONDS.labels(read_model=read_model).observe(seconds)


def observe_pending(read_model: str, last: Any) -> None:
    """JetStream says in each message's metadata how many are still pending behind it: no extra request."""
    try:
        PENDING.labels(read_model=read_model).set(last.metadata.num_pending)
    except Exception:  # faststream's in-memory test broker has no JetStream metadata
        return


class RelayState(Protocol):
    """What the relay already keeps about itself (``services.relay.relay.Relay``)."""

    published: int
    duplicates: int
    is_leader: bool

    @property
    def position_now(self) -> int: ...


class RelayCollector(Collector):
    """The relay's figures read from the relay object at scrape time; ``stored`` is the notification log's head
    (a cheap ``max(id)``), so lag = stored - position even while this replica is a standby."""

    def __init__(self, relay: RelayState, stored: Callable[[], int | None]) -> None:
        self.relay, self.stored = relay, stored

    def collect(self) -> Iterable[Any]:
        position = self.relay.position_now
        yield CounterMetricFamily(f"{PREFIX}_relay_published", "Facts confirmed in the stream by this replica.",
                                  value=self.relay.published)
        yield CounterMetricFamily(f"{PREFIX}_relay_duplicates", "Publishes JetStream dropped as duplicates.",
                                  value=self.relay.duplicates)
        yield GaugeMetricFamily(f"{PREFIX}_relay_leader", "1 while this replica leads, 0 on standby.",
                                value=1 if self.relay.is_leader else 0)
        yield GaugeMetricFamily(f"{PREFIX}_relay_position", "The last notification id confirmed in the stream.",
                                value=position)
        try:
            head = self.stored() or 0
        except Exception:  # the store is away: the lag is unknown, not zero; the other figures still answer
            return
        yield GaugeMetricFamily(f"{PREFIX}_relay_lag", "Facts stored but not yet confirmed in the stream.",
                                value=max(head - position, 0))


class OutboxCollector(Collector):
    """The notifier's outbox by status, and the age of the oldest notice still waiting to go out."""

    STATUSES = ("pending", "sending", "sent", "failed", "dead", "undeliverable", "held")

    def __init__(self, rows: Callable[[], list[tuple[str, int, float]]]) -> None:
        self.rows = rows

    def collect(self) -> Iterable[Any]:
        try:
            rows = self.rows()
        except Exception:  # the store is away: say nothing rather than a false zero
            return
        by_status = GaugeMetricFamily(f"{PREFIX}_notifier_outbox", "Notices in the outbox, by status.",
                                      labels=["status"])
        counts = {status: 0 for status in self.STATUSES} | {status: count for status, count, _ in rows}
        for status, count in sorted(counts.items()):
            by_status.add_metric([status], count)
        yield by_status
        oldest = max((float(age) for _, _, age in rows), default=0.0)
        yield GaugeMetricFamily(f"{PREFIX}_notifier_oldest_pending_seconds",
                                "Age of the oldest notice not yet delivered (pending or failed).", value=oldest)


def register(collector: Collector, registry: CollectorRegistry = REGISTRY) -> Collector:
    """Register once per process (a second relay in the same process, as in tests, replaces the first)."""
    for existing in [c for c in list(getattr(registry, "_collector_to_names", {})) if type(c) is type(collector)]:
        registry.unregister(existing)
    registry.register(collector)
    return collector
