"""Development only: the mail catcher's messages (``prosperity up`` writes each to ``<data>/mail/*.eml``), decoded,
by recipient and kind. Production answers 404: real mail leaves through a relay and is nobody's to browse.

Anyone signed in may look in development: the catcher holds only the synthetic demo's notices, and the notices
carry pseudonymous references, never names (``projections.notifications.templates``).
"""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from fastapi import APIRouter, Depends, Query, Request, Response

from domain.values import Actor
from services.api.pages.cases import not_found
from services.api.pages.deps import PageServices, available, render, signed_in
from services.notifier.channels import KIND_HEADER
from services.settings import StoreSettings

router = APIRouter(include_in_schema=False)
LIMIT = 200


@dataclass(frozen=True)
class Mail:
    name: str
    to: str
    subject: str
    kind: str
    date: str
    transfer_encoding: str
    body: str


def mail_dir(web: PageServices) -> Path:
    return web.settings.mail_dir or StoreSettings().data_dir / "mail"


def read_mail(path: Path) -> Mail:
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(preferencelist=("plain",)) or message
    content = part.get_content() if isinstance(part, EmailMessage) else ""
    return Mail(path.name, str(message.get("To", "")), str(message.get("Subject", "")),
                str(message.get(KIND_HEADER, "")), str(message.get("Date", "")),
                str(part.get("Content-Transfer-Encoding", "7bit")), str(content))


@router.get("/dev/mail")
def mailbox(request: Request, to: str | None = Query(None, max_length=200),
            kind: str | None = Query(None, max_length=80), name: str | None = Query(None, max_length=120),
            _: Actor = Depends(signed_in), web: PageServices = Depends(available)) -> Response:  # noqa: B008
    if web.production:
        return not_found(request)
    folder = mail_dir(web)
    paths = sorted(folder.glob("*.eml"), reverse=True)[:LIMIT] if folder.is_dir() else []
    mails = [read_mail(p) for p in paths]
    shown = [m for m in mails if (not to or to in m.to) and (not kind or m.kind == kind)]
    opened = next((m for m in mails if m.name == name), None)
    return render(request, "mail.html", {"mails": shown, "opened": opened, "to": to or "", "kind": kind or "",
                                         "kinds": sorted({m.kind for m in mails if m.kind}), "folder": folder})
