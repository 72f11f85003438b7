"""The ``webhook`` back end: each notification POSTed as signed JSON to the operator's
endpoint (an SMS or mail gateway)."""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Self

from kiosk.config.notify import NotifySection
from kiosk.errors import InvalidInput
from kiosk.notify import DeliveryError, Notification
from kiosk.notify.backends import log_delivered

__all__ = ["WebhookBackend", "sign", "webhook_body"]

if TYPE_CHECKING:
    import httpx  # imported by the webhook back end when one is built

log = logging.getLogger("kiosk.notify")


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

    @classmethod
    def from_options(cls, notify: NotifySection, data_dir: Path) -> Self:
        """From ``[notify.webhook]``."""
        return cls(notify.webhook.url, notify.webhook.secret)

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
        log_delivered("webhook", n)

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
