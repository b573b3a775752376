"""Mail as ``prosperity up`` catches it: the notifier's SMTP channel writes a notice readable as text (8bit UTF-8
where the server offers 8BITMIME, quoted-printable otherwise, never base64), the mail catcher stores it as an
``.eml`` file, and the development mail viewer shows it decoded, by recipient and kind."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from services.api.pages.settings import WebSettings
from services.infra.embedded import free_port
from services.notifier.channels import Message, SmtpChannel
from services.up import MailCatcher
from tests.integration.pages_support import sign_in
from tests.integration.test_api_commands import COORD, Api
from tests.integration.test_api_queries import api, team_case

__all__ = ["api", "team_case"]  # fixtures
SUBJECT = "Stuðningsteymi lauk störfum án stuðningsáætlunar"
BODY = "Teymið lauk störfum án áætlunar. Þú getur kvartað til GEV á „Mínum síðum“.\nRökstuðningur: doc:no-plan-1"


def _notice(key: str, recipient: str, kind: str) -> Message:
    return Message(key, "c-1", kind, True, recipient, "is", SUBJECT, BODY, 1)


def test_a_notice_reads_as_text_in_the_catchers_file_and_in_the_viewer(api: Api, team_case: UUID,
                                                                        tmp_path: Path) -> None:
    port = free_port()
    catcher = MailCatcher(tmp_path, port)
    catcher.start()
    try:
        channel = SmtpChannel("127.0.0.1", port, "prosperity@municipality.invalid")
        channel.send(_notice("n-1", "person:parent-is-1", "team_concluded_without_plan"),
                     "parent-is-1@demo.prosperity.invalid")
        channel.send(_notice("n-2", "person:cm-is-1", "support_plan_adopted"), "cm-is-1@demo.prosperity.invalid")
    finally:
        catcher.stop()
    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 2
    raw = files[0].read_bytes().decode("utf-8")
    assert "Content-Transfer-Encoding: 8bit" in raw and BODY.splitlines()[0] in raw  # what `cat` shows
    assert "base64" not in raw

    api.client.app.state.pages.settings = WebSettings(mail_dir=tmp_path)  # type: ignore[attr-defined]
    person = sign_in(api.client, COORD)
    mailbox = person.get("/dev/mail", params={"to": "parent-is-1"})
    assert mailbox.status_code == 200 and SUBJECT in mailbox.text and "cm-is-1@" not in mailbox.text
    by_kind = person.get("/dev/mail", params={"kind": "support_plan_adopted"})
    assert "cm-is-1@" in by_kind.text and "parent-is-1@" not in by_kind.text
    opened = person.get("/dev/mail", params={"name": files[0].name})
    assert "Þú getur kvartað til GEV á „Mínum síðum“." in opened.text and "stored 8bit" in opened.text


def test_without_8bitmime_the_body_is_quoted_printable() -> None:
    mail = SmtpChannel("127.0.0.1", 25, "p@x.invalid").build(_notice("n-3", "person:p", "kind"), "p@y.invalid")
    text = mail.as_string()
    assert "Content-Transfer-Encoding: quoted-printable" in text and "doc:no-plan-1" in text
    assert "Teymi=C3=B0 lauk st=C3=B6rfum" in text
