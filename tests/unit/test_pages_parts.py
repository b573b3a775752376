"""The pages' small parts: the message catalogue in three languages and how a language is chosen, the server-drawn
charts, and the server-side sessions' timeouts (the in-memory port; PostgreSQL's in the integration tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.case_iceland import IcelandStatus
from domain.case_norway import NorwayStatus
from domain.values import Actor, Role
from services.api.pages import i18n
from services.api.pages.charts import bars
from services.api.pages.sessions import MemorySessionStore, Timeouts


def test_every_message_is_in_english_icelandic_and_norwegian() -> None:
    for key, texts in {**i18n.M, **i18n.STATUS}.items():
        assert len(texts) == len(i18n.LANGUAGES) and all(t.strip() for t in texts), key
    assert i18n.translator("is")("your_coordinator") == "Hver tengiliðurinn þinn er"
    assert set(IcelandStatus) | set(NorwayStatus) <= set(i18n.STATUS)
    assert i18n.status_words("nb")("plan_active") == "en støtteplan gjelder"


@pytest.mark.parametrize(("cookie", "accept", "chosen"), [
    (None, None, "en"), (None, "is-IS,is;q=0.9,en;q=0.8", "is"), (None, "nn-NO,nn;q=0.9", "nb"),
    (None, "de-DE,no;q=0.4,en;q=0.3", "nb"), (None, "fr, de", "en"), ("is", "nb", "is"), ("xx", "nb", "nb"),
    (None, "en;q=0.2,is;q=bogus,nb;q=0.5", "nb"),
])
def test_the_language_is_the_cookie_else_accept_language_else_english(cookie: str | None, accept: str | None,
                                                                       chosen: str) -> None:
    assert i18n.negotiate(cookie, accept) == chosen


def test_a_chart_scales_bars_to_the_largest_value() -> None:
    chart = bars("c", "Services", [("level 1", [4, 2]), ("level 2", [2, None])], series=("children", "services"))
    (a, b), (c,) = chart.rows[0].bars, chart.rows[1].bars
    assert a.width == 420 and c.width == 210 and b.width == 210 and b.css == "s1"
    assert c.y > a.y and chart.height > 0 and not chart.empty
    assert bars("e", "None", [], series=("x",)).empty


def test_a_session_ends_when_idle_past_its_absolute_end_or_signed_out() -> None:
    store, now = MemorySessionStore(), datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    timeouts = Timeouts(timedelta(hours=1), timedelta(hours=8))
    actor = Actor("person:coord-1", Role.COORDINATOR, "org:school-1")
    idle = store.start(actor, "development", now)
    assert store.find(idle, now + timedelta(minutes=59), timeouts) is not None
    assert store.find(idle, now + timedelta(minutes=59 + 61), timeouts) is None
    assert store.find(idle, now + timedelta(minutes=59 + 62), timeouts) is None  # ended stays ended
    busy = store.start(actor, "development", now)
    for minutes in range(30, 481, 30):
        assert store.find(busy, now + timedelta(minutes=minutes), timeouts) is not None
    assert store.find(busy, now + timedelta(minutes=481), timeouts) is None
    out = store.start(actor, "development", now)
    store.end(out, now, "signed_out")
    assert store.find(out, now, timeouts) is None and store.find("unknown", now, timeouts) is None
