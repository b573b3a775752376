"""How a notice leaves the system: SMTP e-mail and signed webhooks, behind one ``Channel`` interface.

Both channels put the notification key on the wire so the receiving side can drop a second copy of the
same notice (see ``docs/notifications.md`` on the at-least-once window):

* e-mail: ``Message-ID`` is derived from the key (same key, same Message-ID, on every attempt), plus
  ``X-Prosperity-Notification-Key``;
* webhook: ``Idempotency-Key`` is the key, and the body (which includes it) is signed with HMAC-SHA256 over
  the exact bytes sent: ``X-Prosperity-Signature: sha256=<hex>``. The body carries ``sent_at``, so a
  receiver can also refuse stale replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from email.charset import QP, Charset
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formatdate
from typing import Protocol

SIGNATURE_HEADER = "X-Prosperity-Signature"
KEY_HEADER = "X-Prosperity-Notification-Key"
KIND_HEADER = "X-Prosperity-Kind"
REDELIVERY_HEADER = "X-Prosperity-Redelivery"


@dataclass(frozen=True)
class Message:
    """One notice to one recipient, as the worker hands it to a channel."""

    notification_key: str
    case_id: str
    kind: str
    mandatory: bool
    recipient_ref: str
    language: str
    subject: str
    body: str
    attempt: int
    in_doubt: bool = False
    """True when an earlier attempt may have been delivered (its worker died before recording the result)."""


class DeliveryError(Exception):
    """The channel could not deliver. ``permanent`` failures (a 5xx SMTP reply, a 4xx HTTP answer) are not
    retried; everything else (connection refused, timeouts, 4xx SMTP, 5xx HTTP) is retried with backoff."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Channel(Protocol):
    name: str
    """The channel a directory entry names (``email``, ``webhook``)."""

    def send(self, message: Message, address: str) -> str:
        """Deliver ``message`` to ``address``; return the id the receiving side will know it by. Raise
        ``DeliveryError`` when it was not accepted."""
        ...


def message_id_for(notification_key: str, domain: str) -> str:
    """A stable RFC 5322 Message-ID for a notice: every attempt of the same notice carries the same one."""
    digest = hashlib.sha256(notification_key.encode()).hexdigest()[:40]
    return f"<n.{digest}@{domain}>"


def sign(secret: bytes, body: bytes) -> str:
    """The webhook signature header value: ``sha256=<hex HMAC-SHA256 of the body>``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, header: str | None) -> bool:
    """What a receiver does: recompute the signature over the exact bytes and compare in constant time."""
    return header is not None and hmac.compare_digest(sign(secret, body), header)


class SmtpChannel:
    """E-mail through an SMTP relay (stdlib ``smtplib``), one short session per message."""

    name = "email"

    def __init__(self, host: str, port: int, sender: str, *, domain: str = "prosperity.invalid",
                 timeout: float = 10.0, starttls: bool = False, username: str | None = None,
                 password: str | None = None) -> None:
        self.host, self.port, self.sender, self.domain = host, port, sender, domain
        self.timeout, self.starttls, self.username, self.password = timeout, starttls, username, password

    def build(self, message: Message, address: str, *, eight_bit: bool = False) -> MIMEText:
        """The mail, its body readable as text: 8bit UTF-8 when the server takes it (RFC 6152 8BITMIME), else
        quoted-printable (ASCII stays as written). Python's default for UTF-8 is base64, which no one can read in
        the mail catcher's ``.eml`` files."""
        # compat32 MIMEText + Header: the modern EmailMessage folder drops the space between two encoded
        # words of a long non-ASCII subject ("án stuðnings…" arrives as "ánstuðnings…").
        charset = Charset("utf-8")
        charset.body_encoding = None if eight_bit else QP  # type: ignore[assignment]  # None: 8bit
        mail = MIMEText(message.body, "plain", charset)  # type: ignore[arg-type]  # compat32 takes a Charset
        mail["From"] = self.sender
        mail["To"] = address
        mail["Subject"] = Header(message.subject, "utf-8")  # type: ignore[assignment]  # compat32 takes a Header
        mail["Date"] = formatdate(usegmt=True)
        mail["Message-ID"] = message_id_for(message.notification_key, self.domain)
        mail["Content-Language"] = message.language
        mail["Auto-Submitted"] = "auto-generated"
        mail[KEY_HEADER] = message.notification_key
        mail[KIND_HEADER] = message.kind
        if message.in_doubt:
            mail[REDELIVERY_HEADER] = "in-doubt"
        if message.mandatory:
            mail["Importance"] = "high"
        return mail

    def send(self, message: Message, address: str) -> str:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username is not None:
                    smtp.login(self.username, self.password or "")
                smtp.ehlo_or_helo_if_needed()
                eight_bit = smtp.has_extn("8bitmime")
                mail = self.build(message, address, eight_bit=eight_bit)
                refused = smtp.send_message(mail, mail_options=["BODY=8BITMIME"] if eight_bit else [])
        except smtplib.SMTPRecipientsRefused as err:
            codes = [code for code, _ in err.recipients.values()]
            raise DeliveryError(f"recipient refused: {codes}", permanent=all(c >= 500 for c in codes)) from err
        except smtplib.SMTPResponseException as err:
            raise DeliveryError(f"SMTP {err.smtp_code}", permanent=err.smtp_code >= 500) from err
        except (OSError, smtplib.SMTPException) as err:
            raise DeliveryError(f"SMTP unavailable: {type(err).__name__}: {err}") from err
        if refused:  # several recipients and some refused: we only ever send to one
            raise DeliveryError(f"recipient refused: {refused}", permanent=True)
        return str(mail["Message-ID"])


class WebhookChannel:
    """A JSON POST signed with a shared secret (stdlib ``urllib``)."""

    name = "webhook"

    def __init__(self, secret: bytes, *, timeout: float = 10.0, user_agent: str = "prosperity-notifier/1") -> None:
        if not secret:
            raise ValueError("a webhook secret is required")
        self.secret, self.timeout, self.user_agent = secret, timeout, user_agent

    def payload(self, message: Message) -> bytes:
        return json.dumps({
            "notification_key": message.notification_key, "case_id": message.case_id, "kind": message.kind,
            "mandatory": message.mandatory, "recipient_ref": message.recipient_ref, "language": message.language,
            "subject": message.subject, "body": message.body, "attempt": message.attempt,
            "in_doubt": message.in_doubt, "sent_at": datetime.now(UTC).isoformat(),
        }, ensure_ascii=False, sort_keys=True).encode()

    def send(self, message: Message, address: str) -> str:
        body = self.payload(message)
        request = urllib.request.Request(address, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", "User-Agent": self.user_agent,
            SIGNATURE_HEADER: sign(self.secret, body), "Idempotency-Key": message.notification_key,
            KEY_HEADER: message.notification_key})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status = int(response.status)
        except urllib.error.HTTPError as err:
            retryable = err.code >= 500 or err.code in {408, 425, 429}
            raise DeliveryError(f"HTTP {err.code}", permanent=not retryable) from err
        except (OSError, urllib.error.URLError) as err:
            raise DeliveryError(f"webhook unavailable: {type(err).__name__}: {err}") from err
        if not 200 <= status < 300:
            raise DeliveryError(f"HTTP {status}", permanent=False)
        return message.notification_key
