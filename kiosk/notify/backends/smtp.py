"""The ``smtp`` back end: ``email`` notifications through the operator's SMTP relay."""

from __future__ import annotations

import asyncio
import email.policy
import email.utils
import hashlib
import re
import smtplib
import socket
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Self

from kiosk.config.notify import NotifySection
from kiosk.errors import InvalidInput
from kiosk.notify import DeliveryError, Notification, mask_recipient, render_text
from kiosk.notify.backends import log_delivered

__all__ = ["SmtpBackend", "message_id"]


class SmtpBackend:
    """Sends ``email`` notifications through an SMTP relay (smtplib in a worker thread).

    The ``Message-ID`` is derived from the notification key, so a message that arrives twice
    after a retry is recognisable as one. SMTP 4xx replies and connection errors are
    retryable, 5xx replies are final. An ``sms`` notification is refused (not retryable).
    Error messages carry the SMTP reply code and enhanced status, never the reply text (a
    server often quotes the recipient address in it).
    """

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        starttls: bool = False,
        username: str = "",
        password: str = "",
        timeout_s: float = 10,
    ) -> None:
        if "@" not in email.utils.parseaddr(sender)[1]:
            raise InvalidInput(f"smtp sender {sender!r} is not an e-mail address")
        self.host = host
        self.port = port
        self.sender = sender
        self.starttls = starttls
        self._username = username
        self._password = password
        self.timeout_s = timeout_s

    @classmethod
    def from_options(cls, notify: NotifySection, data_dir: Path) -> Self:
        """From ``[notify.smtp]``."""
        smtp = notify.smtp
        return cls(smtp.host, smtp.port, smtp.sender, starttls=smtp.starttls,
                   username=smtp.username, password=smtp.password)  # fmt: skip

    def __repr__(self) -> str:
        return f"SmtpBackend(host={self.host!r}, port={self.port})"

    async def send(self, n: Notification) -> None:
        if n.channel != "email":
            raise DeliveryError("the smtp back end cannot send SMS", retryable=False)
        message = self.build_message(n)
        try:
            await asyncio.to_thread(self._deliver, message)
        except (smtplib.SMTPException, OSError) as exc:
            raise _smtp_error(self.host, exc) from exc
        log_delivered("smtp", n)

    def build_message(self, n: Notification) -> EmailMessage:
        """The e-mail for ``n`` (raises :class:`DeliveryError` for a malformed one)."""
        address = email.utils.parseaddr(n.recipient)[1]
        if address != n.recipient.strip() or "@" not in address:
            raise DeliveryError(
                f"recipient {mask_recipient(n.recipient)} is not an e-mail address",
                retryable=False,
            )
        subject, body = render_text(n)
        message = EmailMessage(policy=email.policy.SMTP)
        message["From"] = self.sender
        message["To"] = address
        message["Subject"] = subject
        message["Date"] = email.utils.formatdate(localtime=True)
        message["Message-ID"] = message_id(n.key, self.sender)
        message["Auto-Submitted"] = "auto-generated"
        # quoted-printable keeps a kiosk name with umlauts 7-bit clean for any relay
        message.set_content(body, cte=None if body.isascii() else "quoted-printable")
        return message

    def _deliver(self, message: EmailMessage) -> None:
        # local_hostname: smtplib's default is socket.getfqdn(), a DNS lookup that can hang
        with smtplib.SMTP(
            self.host,
            self.port,
            local_hostname=socket.gethostname() or "localhost",
            timeout=self.timeout_s,
        ) as smtp:
            smtp.ehlo()
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if self._username:
                smtp.login(self._username, self._password)
            smtp.send_message(message)


def message_id(key: str, sender: str) -> str:
    """``<notification.KEY@sender-domain>``; a key unfit for a Message-ID is hashed."""
    local = key if re.fullmatch(r"[A-Za-z0-9._-]{1,64}", key) else _digest(key)
    domain = email.utils.parseaddr(sender)[1].rpartition("@")[2]
    if not re.fullmatch(r"[A-Za-z0-9.-]+", domain):
        domain = "locker-kiosk.invalid"
    return f"<notification.{local}@{domain}>"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _smtp_error(host: str, exc: smtplib.SMTPException | OSError) -> DeliveryError:
    code: int | None = None
    reply: bytes | str = b""
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and exc.recipients:
        code, reply = next(iter(exc.recipients.values()))
    elif isinstance(exc, smtplib.SMTPResponseException):
        code, reply = exc.smtp_code, exc.smtp_error
    if code is not None and code > 0:
        status = _enhanced_status(reply)
        return DeliveryError(
            f"smtp server {host} answered {code}{' ' + status if status else ''}",
            retryable=not 500 <= code < 600,
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return DeliveryError(f"smtp server {host}: {exc}", retryable=False)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return DeliveryError(f"smtp server {host} closed the connection", retryable=True)
    return DeliveryError(f"smtp server {host}: {type(exc).__name__}", retryable=True)


def _enhanced_status(reply: bytes | str) -> str:
    """The RFC 3463 status (``5.1.1``) at the start of a reply text, if there is one."""
    text = reply.decode("ascii", "replace") if isinstance(reply, bytes) else reply
    found = re.match(r"\s*([245]\.\d{1,3}\.\d{1,3})\b", text)
    return found.group(1) if found else ""
