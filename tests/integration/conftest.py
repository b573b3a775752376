"""Integration tests: real PostgreSQL and NATS from the root fixtures; marked ``integration`` there.

Fixtures needed only by integration tests belong here.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import nats
import nats.js.errors
import pytest

from services.infra.nats_env import JsTarget
from services.relay.stream import RelaySettings, declare_stream
from tests.integration.consumer_support import DUPLICATE_WINDOW_SECONDS


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[JsTarget]:
    """A fresh pair of streams as the relay declares them: the facts (``T_<hex>``, ``t<hex>.cases.v1.>`` and
    ``t<hex>.directory.v1.>``) and the dead letters beside them (``T_<hex>_DL``, ``t<hex>.deadletter.>``)."""
    token = uuid.uuid4().hex[:12]
    settings = RelaySettings(nats_url=nats_url, stream_name=f"T_{token}", subject_prefix=f"t{token}",
                             duplicate_window_seconds=DUPLICATE_WINDOW_SECONDS)
    client = await nats.connect(nats_url)
    try:
        jetstream = client.jetstream()
        await declare_stream(jetstream, settings)
        try:
            yield JsTarget(url=nats_url, stream=settings.stream_name, subject_prefix=settings.subject_prefix)
        finally:
            for name in (settings.stream_name, settings.deadletter_stream):
                with contextlib.suppress(nats.js.errors.NotFoundError):
                    await jetstream.delete_stream(name)
    finally:
        await client.close()
