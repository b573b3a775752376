"""Integration tests: real PostgreSQL and NATS from the root fixtures; marked ``integration`` there.

Fixtures needed only by integration tests belong here.
"""

from __future__ import annotations

import pytest

from services.bus.provision import StreamSettings
from services.infra.nats_env import JsTarget
from tests.conftest import BusFactory
from tests.integration.consumer_support import DUPLICATE_WINDOW_SECONDS


@pytest.fixture
def bus(bus_factory: BusFactory) -> JsTarget:
    """A bus of this test's own (generated accounts, authorization on) whose facts' stream has a short duplicate
    window, so a test can put a second copy of a real message (same ``Nats-Msg-Id``) into it, as a republish after
    the window would; consumers dead-letter any message whose id does not match its payload."""
    return bus_factory(streams=StreamSettings(duplicate_window_seconds=DUPLICATE_WINDOW_SECONDS))
