"""Notice texts in Icelandic, Norwegian and English, and the small pure helpers of the notifier."""

from __future__ import annotations

import string
from datetime import date, timedelta

import pytest

from projections.notifications import templates as t
from projections.notifications.projection import add_months, add_working_days
from services.notifier.channels import Message, SmtpChannel, message_id_for, sign, verify
from services.notifier.worker import WorkerSettings, backoff

SAMPLE = {"appeal_deadline": "2024-02-17", "due_on": "2024-12-31", "scheduled_for": "2024-02-20",
          "decision": "refused", "stage": "forwarded", "warning": "17y6m", "case_id": "case-1"}


def params_for(kind: str) -> dict[str, str]:
    """Every placeholder the kind's texts use, with a recognisable value."""
    names = {field for language in t.LANGUAGES for text in t.TEMPLATES[kind][language]
             for _, field, _, _ in string.Formatter().parse(text) if field}
    return {name: SAMPLE.get(name, f"<{name}>") for name in names} | {"case_id": "case-1"}


@pytest.mark.parametrize("kind", sorted(t.TEMPLATES))
@pytest.mark.parametrize("language", t.LANGUAGES)
def test_every_notice_renders_in_every_language(kind: str, language: str) -> None:
    rendered = t.render(kind, language, params_for(kind))
    assert rendered.language == language and rendered.subject and rendered.body
    assert "{" not in rendered.subject + rendered.body and "\n" not in rendered.subject
    assert "case-1" in rendered.body  # the case reference footer


def test_the_iceland_conclusion_notice_carries_the_justification_and_how_to_complain_to_gev() -> None:
    params = {"justification_doc_ref": "doc:why-1", "complaint_body": "GEV", "case_id": "c"}
    texts = {language: t.render(t.TEAM_CONCLUDED_WITHOUT_PLAN, language, params) for language in t.LANGUAGES}
    for rendered in texts.values():
        assert "doc:why-1" in rendered.body and "GEV" in rendered.body and "gev.is" in rendered.body
        assert "Mínar síður" in rendered.body
    assert "án stuðningsáætlunar" in texts["is"].body and "Gæða- og eftirlitsstofnunar" in texts["is"].body
    assert "uten støtteplan" in texts["nb"].body
    assert "without a support plan" in texts["en"].body and "only the service user" in texts["en"].body.lower()


def test_the_norway_decision_carries_reasons_statsforvalteren_and_the_four_week_date() -> None:
    params = {"decision": "terminated", "decision_id": "d-2", "justification_doc_ref": "doc:reasons-2",
              "legal_basis": "pbrl § 2-5 c; hol § 7-2 a", "appeal_body": "Statsforvalteren",
              "appeal_deadline": "2024-11-05", "case_id": "c"}
    nb = t.render(t.BARNEKOORDINATOR_DECISION, "nb", params)
    assert nb.subject == "Avgjørelse om barnekoordinator: avsluttet"
    for needed in ("doc:reasons-2", "Statsforvalteren", "fire uker", "pbrl. § 7-5", "5. november 2024 (2024-11-05)",
                   "pbrl § 2-5 c; hol § 7-2 a", "sendes først til kommunen"):
        assert needed in nb.body
    en = t.render(t.BARNEKOORDINATOR_DECISION, "en", params)
    assert "four weeks" in en.body and "5 November 2024" in en.body and "terminated" in en.subject
    icelandic = t.render(t.BARNEKOORDINATOR_DECISION, "is", params)
    assert "fjórar vikur" in icelandic.body and "5. nóvember 2024" in icelandic.body


def test_language_follows_the_jurisdiction_unless_the_recipient_prefers_one_we_have() -> None:
    assert t.language_for("IS") == "is" and t.language_for("NO") == "nb" and t.language_for(None) == "en"
    assert t.language_for("IS", "en") == "en" and t.language_for("NO", "sv") == "nb"
    with pytest.raises(KeyError):
        t.render(t.PLAN_REVIEW_DUE, "sv", {"plan_id": "p", "due_on": "2024-01-01"})


def test_dates_are_written_out_in_each_language() -> None:
    day = date(2024, 2, 19)
    assert t.format_date(day, "is") == "19. febrúar 2024 (2024-02-19)"
    assert t.format_date(day, "nb") == "19. februar 2024 (2024-02-19)"
    assert t.format_date(day, "en") == "19 February 2024 (2024-02-19)"


def test_working_days_skip_weekends_and_months_add_up() -> None:
    friday = date(2024, 1, 12)
    assert add_working_days(friday, 1) == date(2024, 1, 15)
    assert add_working_days(friday, 5) == date(2024, 1, 19)
    assert add_months(date(2007, 1, 1), 204) == date(2024, 1, 1)
    assert add_months(date(2007, 1, 1), 210) == date(2024, 7, 1)


def test_webhook_signatures_fail_on_any_change() -> None:
    body = b'{"kind": "team_concluded_without_plan"}'
    header = sign(b"secret", body)
    assert header.startswith("sha256=") and verify(b"secret", body, header)
    assert not verify(b"secret", body + b" ", header)
    assert not verify(b"other", body, header)
    assert not verify(b"secret", body, None)


def test_every_attempt_of_a_notice_has_the_same_message_id_and_a_proper_utf8_subject() -> None:
    key = "3f8be9f9-ac26-521a-8911-1f24084fe8ab:9:person:parent-is-7:team_concluded_without_plan"
    assert message_id_for(key, "x.test") == message_id_for(key, "x.test") != message_id_for(key + "x", "x.test")
    channel = SmtpChannel("127.0.0.1", 25, "noreply@x.test", domain="x.test")
    message = Message(key, "case", "team_concluded_without_plan", True, "person:p", "is",
                      "Stuðningsteymi hefur lokið störfum án stuðningsáætlunar", "Rökstuðningur: doc:x", 2, True)
    mail = channel.build(message, "p@example.test")
    assert mail["Message-ID"] == message_id_for(key, "x.test")
    assert mail["X-Prosperity-Redelivery"] == "in-doubt" and mail["Content-Language"] == "is"


def test_backoff_doubles_up_to_its_cap() -> None:
    settings = WorkerSettings(backoff_base=timedelta(seconds=30), backoff_max=timedelta(minutes=5))
    assert [backoff(settings, n).total_seconds() for n in (1, 2, 3, 4, 5, 100)] == [30, 60, 120, 240, 300, 300]
