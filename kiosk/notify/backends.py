"""The notification back ends: log, file (the demo's inbox), webhook and SMTP.

Each delivers one :class:`~kiosk.notify.Notification` or raises
:class:`~kiosk.notify.DeliveryError`; :func:`kiosk.notify.build_backend` builds them by
name. The rules of :mod:`kiosk.notify` hold here: no payload in a log line or an error
message, recipients only masked.
"""

from __future__ import annotations

import asyncio
import email.policy
import email.utils
import hashlib
import hmac
import json
import logging
import re
import smtplib
import socket
import ssl
import time
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.errors import InvalidInput
from kiosk.notify import DeliveryError, Notification, mask_recipient, render_text

__all__ = [
    "FileBackend",
    "LogBackend",
    "SmtpBackend",
    "WebhookBackend",
    "message_id",
    "sign",
    "webhook_body",
]

if TYPE_CHECKING:
    import httpx  # imported by the webhook back end when one is built

log = logging.getLogger("kiosk.notify")  # one logger for the dispatcher's side and these


# --- log --------------------------------------------------------------------------------------


def _log_delivered(via: str, n: Notification) -> None:
    # DEBUG: the dispatcher owns the outcome; this line helps when tracing one back end
    log.debug(
        "notification delivered by %s: kind=%s key=%s to=%s",
        via,
        n.kind,
        n.key,
        mask_recipient(n.recipient),
    )


class LogBackend:
    """Writes one log line per notification and always succeeds (demo and tests)."""

    async def send(self, n: Notification) -> None:
        log.info(
            "notification sent: kind=%s key=%s to=%s", n.kind, n.key, mask_recipient(n.recipient)
        )


class FileBackend:
    """Appends each notification as one JSON line to a file: the inbox of simulated
    recipients, for the demo and the tests. It carries the pickup code, as the real
    message would; never configure it on a kiosk with real customers."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    async def send(self, n: Notification) -> None:
        line = json.dumps(
            {"key": n.key, "kind": n.kind, "channel": n.channel, "recipient": n.recipient,
             "payload": n.payload}, default=str,
        )  # fmt: skip
        try:
            with self.path.open("a", encoding="utf-8") as inbox:
                inbox.write(line + "\n")
        except OSError as exc:
            raise DeliveryError(
                f"cannot write the inbox file: {exc.strerror}", retryable=True
            ) from exc
        _log_delivered("file", n)


# --- webhook ----------------------------------------------------------------------------------


class WebhookBackend:
    """POSTs each notification as JSON to an operator's endpoint (an SMS or mail gateway).

    The body is ``{"key", "kind", "channel", "recipient", "payload"}`` (UTF-8, compact, keys
    sorted). Headers: ``Idempotency-Key: <key>``, ``X-Locker-Timestamp: <unix seconds>`` and
    ``X-Locker-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes under secret>``;
    a receiver recomputes the HMAC over the raw body before parsing it, and drops repeats by
    the idempotency key. The timestamp is informational: it is not covered by the signature.

    Outcome: 2xx delivered; 408, 429, 5xx, network errors and time-outs retryable; any other
    status (other 4xx, a redirect, which is not followed) is final.

    Without ``client`` each send opens its own connection: a kiosk sends a few messages an
    hour, and there is then no client whose closing anyone could forget.
    """

    def __init__(
        self,
        url: str,
        secret: str,
        timeout_s: float = 10,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        import httpx  # here, not at the top: a kiosk without a webhook never loads it

        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise InvalidInput(f"webhook url {url!r} is not a valid URL") from exc
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise InvalidInput(f"webhook url {url!r} must be an http:// or https:// URL")
        if not secret:
            raise InvalidInput("webhook secret must not be empty")
        if parsed.scheme == "http" and parsed.host not in ("127.0.0.1", "::1", "localhost"):
            log.warning("webhook %s uses plain http: pickup codes travel unencrypted", parsed.host)
        self._url = url
        self._host = parsed.host
        self._secret = secret.encode()
        self._timeout = httpx.Timeout(timeout_s)
        self._timeout_s = timeout_s
        self._client = client

    def __repr__(self) -> str:
        return f"WebhookBackend(host={self._host!r})"

    async def send(self, n: Notification) -> None:
        import httpx

        body = webhook_body(n)
        headers = self._headers(n, body)
        try:
            response = await self._post(body, headers)
        except httpx.TimeoutException as exc:
            raise DeliveryError(
                f"webhook {self._host}: no answer within {self._timeout_s:g} s", retryable=True
            ) from exc
        except httpx.RequestError as exc:
            raise DeliveryError(
                f"webhook {self._host}: {type(exc).__name__}", retryable=True
            ) from exc
        _check_status(self._host, response)
        _log_delivered("webhook", n)

    async def _post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        import httpx

        if self._client is not None:
            return await self._client.post(
                self._url, content=body, headers=headers, timeout=self._timeout
            )
        async with httpx.AsyncClient(timeout=self._timeout, follow_redirects=False) as client:
            return await client.post(self._url, content=body, headers=headers)

    def _headers(self, n: Notification, body: bytes) -> dict[str, str]:
        if not (n.key.isascii() and n.key.isprintable() and n.key.strip()):
            raise DeliveryError(
                "notification key is not printable ASCII: it cannot be an Idempotency-Key",
                retryable=False,
            )
        return {
            "Content-Type": "application/json",
            "Idempotency-Key": n.key,
            "X-Locker-Signature": "sha256=" + sign(self._secret, body),
            "X-Locker-Timestamp": str(int(time.time())),
        }


def webhook_body(n: Notification) -> bytes:
    """The exact bytes :class:`WebhookBackend` posts (and signs) for ``n``."""
    document = {
        "key": n.key,
        "kind": n.kind,
        "channel": n.channel,
        "recipient": n.recipient,
        "payload": n.payload,
    }
    try:
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    except (TypeError, ValueError):
        # json's message would quote the offending value, which may be the pickup code
        raise DeliveryError(
            f"notification {n.key}: payload is not JSON-serialisable", retryable=False
        ) from None
    return text.encode("utf-8")


def sign(secret: bytes, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``body`` under ``secret``: the ``X-Locker-Signature`` value."""
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def _check_status(host: str, response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    retryable = status in (408, 429) or status >= 500
    # The response body is not quoted: a gateway may echo the request, pickup code included.
    raise DeliveryError(
        f"webhook {host} answered HTTP {status}",
        retryable=retryable,
        retry_after=_retry_after(response.headers.get("Retry-After")) if retryable else None,
    )


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


# --- smtp -------------------------------------------------------------------------------------


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
        _log_delivered("smtp", n)

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
