"""The demo's client when the law's clock, running beside it in real time, has recorded a fact on a case whose
history the demo is still entering with past ``Occurred-At`` times: the step is refused (TIME-1), and that case's
remaining steps go in at the API's now. Any other refusal still stops the demo. (The API's side of TIME-1 is
tested against the real API in tests/integration/test_api_occurred_at.py.)"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import httpx
import pytest

from contracts import commands as c
from services.demo import Api, DemoError, Who

COORD = Who("person:coord-demo-1", "coordinator", "org:school-demo-1", "muni:reykjavik")
TIME_1 = {"type": "urn:prosperity:problem:invalid-value", "status": 422,
          "detail": "Occurred-At: TIME-1: must not be before the latest fact of the case"}


def api_answering(answer: httpx.Response | None = None) -> tuple[Api, list[httpx.Request]]:
    """The demo's client against an API whose case already has a fact later than any past ``Occurred-At``."""
    seen: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if "Occurred-At" in request.headers:
            return answer or httpx.Response(422, json=TIME_1)
        return httpx.Response(200, json={"case_id": str(uuid4()), "version": len(seen)})

    api = Api("http://api.invalid")
    api.client = httpx.Client(base_url="http://api.invalid", transport=httpx.MockTransport(respond))
    api.token = lambda who: "token"  # type: ignore[method-assign]
    return api, seen


def step(case_id: object) -> c.RecordChildViews:
    return c.RecordChildViews(case_id=case_id, method="conversation", summary_doc_ref="doc:views-demo-1")


def test_a_case_the_clock_moved_on_goes_on_at_the_apis_now() -> None:
    api, seen = api_answering()
    case_id = uuid4()
    past = datetime.now(UTC) - timedelta(days=30)
    api.on_case(case_id, "/child-views", step(case_id), COORD, at=past)
    api.on_case(case_id, "/child-views", step(case_id), COORD, at=past + timedelta(days=1))
    other = uuid4()
    api.on_case(other, "/child-views", step(other), COORD, at=past)  # another case still tries its own time first
    sent = [(r.url.path, "Occurred-At" in r.headers) for r in seen]
    mine, others = f"/v1/cases/{case_id}/child-views", f"/v1/cases/{other}/child-views"
    assert sent == [(mine, True), (mine, False), (mine, False), (others, True), (others, False)]
    assert json.loads(seen[1].content) == json.loads(seen[0].content)  # the same step, again, at now
    assert api.caught_up_by_clock == {case_id, other}


def test_any_other_refusal_stops_the_demo() -> None:
    api, _ = api_answering(httpx.Response(422, json={"status": 422, "detail": "summary_doc_ref: PRIV-1: ..."}))
    case_id = uuid4()
    with pytest.raises(DemoError, match="PRIV-1"):
        api.on_case(case_id, "/child-views", step(case_id), COORD, at=datetime.now(UTC) - timedelta(days=1))
    assert api.caught_up_by_clock == set()
