"""The dashboard and the alert rules name only metrics the code exposes, the code exposes none they leave
out, and every alert has its runbook entry: assets that drift from the code fail here, not at 3 a.m."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import cast

import yaml  # type: ignore[import-untyped]
from faststream.nats.prometheus import NatsPrometheusMiddleware
from prometheus_client import REGISTRY, CollectorRegistry

from services.clock.cli import ClockCollector
from services.clock.service import ClockService, ClockStats
from services.observability import metrics

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "deploy" / "observability"
EXTERNAL = ("kube_job_status_failed", "up")
"""Named by the alerts, exposed by others: kube-state-metrics, and Prometheus itself for every target."""
SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")
FUNCTIONS = {"sum", "max", "rate", "increase", "deriv", "delta", "histogram_quantile", "by", "and", "or",
             "vector", "clamp_min", "le"}


def alerts() -> list[dict[str, object]]:
    groups = yaml.safe_load((ASSETS / "alerts.yaml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def expressions() -> list[str]:
    dashboard = json.loads((ASSETS / "grafana-dashboard.json").read_text())
    return ([target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
            + [str(rule["expr"]) for rule in alerts()])


def named_in(expr: str) -> set[str]:
    without_strings = re.sub(r'"[^"]*"', "", re.sub(r"\{[^}]*\}", "", re.sub(r"\[[^\]]*\]", "", expr)))
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_strings))
    return {w for w in words if (w not in FUNCTIONS and not w.startswith("$") and "_" in w) or w == "up"} - {
        "route", "read_model", "outcome", "handler", "kind", "rule", "status", "job"}


class Figures:
    published, duplicates, is_leader, position_now = 0, 0, False, 0


class ClockFigures:
    stats = ClockStats()


def exposed() -> set[str]:
    """Every family the processes can expose: ours (counters, histograms, gauges and the scrape-time
    collectors), faststream's middleware's, and prometheus-client's process collector."""
    families = {f.name for f in REGISTRY.collect()}
    scratch = CollectorRegistry()
    scratch.register(metrics.RelayCollector(Figures(), lambda: 0))
    scratch.register(metrics.OutboxCollector(lambda: []))
    NatsPrometheusMiddleware(registry=scratch)
    scratch.register(ClockCollector(cast(ClockService, ClockFigures())))
    families |= {f.name for f in scratch.collect()}
    return families


def base(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def test_every_metric_the_assets_name_is_exposed_by_the_code() -> None:
    families = exposed()
    named = set().union(*(named_in(e) for e in expressions()))
    unknown = {n for n in named if n not in EXTERNAL and base(n) not in families and n not in families}
    assert not unknown, f"dashboard/alerts name metrics no code exposes: {sorted(unknown)}"


def test_every_prosperity_metric_is_on_the_dashboard_or_in_an_alert() -> None:
    named = {base(n) for e in expressions() for n in named_in(e)}
    ours = {f for f in exposed() if f.startswith("prosperity_")}
    assert ours - named == set(), "metrics nobody looks at: put them on the dashboard or drop them"


def test_every_alert_has_a_runbook_entry_and_a_severity() -> None:
    runbook = (ROOT / "docs" / "runbook.md").read_text()
    headings = {h.strip().lower() for h in re.findall(r"^## (\S+)", runbook, flags=re.M)}
    for rule in alerts():
        name = str(rule["alert"])
        assert rule["annotations"]["runbook"] == f"docs/runbook.md#{name.lower()}"  # type: ignore[index]
        assert name.lower() in headings, f"docs/runbook.md has no section for {name}"
        assert rule["labels"]["severity"] in {"info", "warning", "critical"}  # type: ignore[index]


def test_the_expression_reader_sees_the_metrics_and_not_the_labels() -> None:
    assert named_in('sum by (route) (rate(prosperity_http_requests_total{status=~"5.."}[5m]))') == {
        "prosperity_http_requests_total"}
