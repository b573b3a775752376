"""One trace from an HTTP request to the consumer that applies its fact, and the API's metrics moving.

The relay and the read models' consumers run as real processes (JSON logs) on the generated NATS
configuration, as in ``test_http_to_read_models``. The request carries a caller's W3C ``traceparent``: the
fact stores it, the relay sends it as a header, and the consumer's log line for that fact names its trace.
Tracing itself is off (the default): a caller's trace is continued all the same, so an operator can follow
a request with the ids alone.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
from datetime import date
from typing import Any

import pytest

from contracts import commands as c
from contracts.mapping import PUBLISHED_TOPICS
from services.infra.nats_env import JsTarget
from services.infra.postgres_env import PgTarget
from tests.e2e.test_http_to_read_models import READ_MODELS, http, processes, wait_until_applied
from tests.integration.test_api_commands import CHILD, COORD, DAD, LEAD, MUM, SCHOOL, Api

__all__ = ["http", "processes"]  # fixtures

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{TRACE_ID}-b7ad6b7169203331-01"


def lines_of(process: subprocess.Popen[bytes]) -> list[dict[str, Any]]:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=15)
    lines = []
    for raw in err.decode().splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue
    return lines


def metric(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name}{{{wanted}}} not exposed")


@pytest.fixture
def debug_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The consumers' line per fact is at debug level (``PROSPERITY_LOG_LEVEL``), as an operator sets it to trace."""
    monkeypatch.setenv("PROSPERITY_LOG_LEVEL", "debug")


@pytest.mark.usefixtures("debug_logs")
async def test_a_requests_trace_reaches_the_consumers_log_line_for_its_fact(
        http: Api, pg_schema: PgTarget, js_stream: JsTarget, processes: list[subprocess.Popen[bytes]]) -> None:
    api = http
    api.ok(c.RegisterInstitution(org_ref=SCHOOL, institution_type="secondary_school",
                                 municipality_ref="muni:reykjavik", jurisdiction="IS"), LEAD)
    api.ok(c.DesignateCoordinator(org_ref=SCHOOL, person_ref=COORD.person_ref), LEAD)
    opened = api.post(c.RegisterContact(
        child_ref=CHILD, parent_refs=(MUM, DAD), birth_date=date(2008, 9, 15), municipality_ref="muni:reykjavik",
        coordinator_ref=COORD.person_ref, coordinator_org_ref=SCHOOL, life_stage="secondary",
        conflict_of_interest_declared_none=True, initiated_by="provider_guidance"), COORD,
        headers={"traceparent": TRACEPARENT})
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["case_id"]

    stored = api.app.recorder.select_notifications(start=None, limit=1000, topics=PUBLISHED_TOPICS)
    expected = {str(n.originator_id): n.originator_version for n in stored}
    await asyncio.to_thread(wait_until_applied, pg_schema, expected, processes)

    consumers = dict(zip(READ_MODELS, processes[1:], strict=True))
    facts = [line for line in lines_of(consumers["dashboard"]) if line.get("event") == "consumer.fact"]
    opening = [line for line in facts if line.get("trace_id") == TRACE_ID]
    assert [(line["event_type"], line["case_version"], line["outcome"]) for line in opening] \
        == [("contact_registered", 1, "applied")], facts
    others = [line for line in facts if line not in opening]
    assert others and all(line.get("trace_id") != TRACE_ID for line in others), "other requests' facts: other traces"
    assert case_id


def test_the_api_counts_requests_and_refusals_by_rule(http: Api) -> None:
    api = http
    before = api.client.get("/metrics").text
    route = "/v1/institutions"
    api.ok(c.RegisterInstitution(org_ref=SCHOOL, institution_type="secondary_school",
                                 municipality_ref="muni:reykjavik", jurisdiction="IS"), LEAD)
    refused = api.post(c.DesignateCoordinator(org_ref=SCHOOL, person_ref=COORD.person_ref), COORD)
    assert refused.status_code == 403, refused.text  # only the municipality's lead designates
    after = api.client.get("/metrics").text
    assert "prosperity_http_requests_total" in after and "prosperity_refusals_total" in after
    created = metric(after, "prosperity_http_requests_total", method="POST", route=route, status="201")
    assert created >= 1
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", after), "no case id in labels"
    rule = refused.json()["rule_id"]
    earlier = metric(before, "prosperity_refusals_total", rule=rule) if f'rule="{rule}"' in before else 0.0
    assert metric(after, "prosperity_refusals_total", rule=rule) == earlier + 1
