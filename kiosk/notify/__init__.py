"""Notifications: how a message from the outbox reaches a person.

The outbox table and the dispatcher loop live elsewhere; they hand each due row to a
:class:`Backend` as a :class:`Notification` and call :func:`backoff_delay` after a failure.
A back end delivers one message or raises :class:`DeliveryError`, whose ``retryable`` flag
tells the dispatcher whether to try again later or to give up on the message.

Delivery is *at least once*: a retry after a time-out may deliver a message twice. Every back
end therefore passes the notification's key along (``Idempotency-Key`` header, ``Message-ID``)
so that the receiving side can recognise a repeat.

The payload of a ``parcel_stored`` notification holds the pickup code. Nothing in this module
logs a payload, puts it in an error message, or logs a recipient other than masked
(:func:`mask_recipient`); error messages end up in the outbox's ``last_error`` column.

This module is the contract (:class:`Notification`, :class:`Backend`,
:class:`DeliveryError`), the text of a message, the retry delays and the registry of back
ends by name (:func:`backend_class`); the back ends themselves are one module each in
:mod:`kiosk.notify.backends`, imported when one is built.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, Self, cast

from kiosk.config.notify import BACKEND_NAMES, BackendName, NotifySection
from kiosk.errors import InvalidInput, LockerError
from kiosk.protocol.codes import group_code

__all__ = [
    "Backend",
    "DeliveryError",
    "Notification",
    "backend_class",
    "backend_from_options",
    "backoff_delay",
    "build_backend",
    "mask_recipient",
    "render_text",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notification:
    """One message to one person, as the outbox stores it.

    ``key`` is the idempotency key: the same message retried keeps the same key.
    ``repr()`` shows the recipient masked and never the payload, so a notification that lands
    in a log line or a traceback does not leak the pickup code.
    """

    key: str
    kind: str
    channel: str
    recipient: str = field(repr=False)
    payload: dict[str, object] = field(repr=False)

    def __repr__(self) -> str:
        return (
            f"Notification(key={self.key!r}, kind={self.kind!r}, channel={self.channel!r}, "
            f"to={mask_recipient(self.recipient)!r})"
        )


class DeliveryError(LockerError):
    """A notification was not delivered.

    ``retryable`` is true when a later attempt may succeed (network down, server busy) and
    false when the message itself is refused (bad address, malformed notification).
    ``retry_after`` is the server's own hint in seconds, when it gave one.
    The message names the back end and the reason, never the payload or the full recipient.
    """

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class Backend(Protocol):
    """What the dispatcher needs from a back end: deliver one message or raise."""

    async def send(self, n: Notification) -> None:
        """Deliver ``n``; raise :class:`DeliveryError` if it was not delivered."""
        ...


# --- shared helpers ---------------------------------------------------------------------------


def mask_recipient(recipient: str) -> str:
    """A recipient fit for a log line: ``+49******67`` or ``a***@example.org``.

    The number of stars is fixed, so the mask does not give away the length either.
    """
    if "@" in recipient:
        local, _, domain = recipient.rpartition("@")
        return f"{local[:1]}***@{domain}"
    if len(recipient) < 7:
        return "***"
    return f"{recipient[:3]}******{recipient[-2:]}"


def backoff_delay(
    attempt: int, initial_s: float, max_s: float, rng: random.Random | None = None
) -> float:
    """Seconds to wait before the next delivery attempt: exponential with full jitter.

    ``attempt`` is how many deliveries have failed so far (values below 1 count as 1). The
    result is uniform in ``[0, min(max_s, initial_s * 2 ** (attempt - 1))]``; the jitter
    spreads out retries that failed together (e.g. after the network came back).
    """
    exponent = min(max(attempt, 1) - 1, 62)  # beyond 2**62 every ceiling is max_s anyway
    ceiling = min(max_s, initial_s * float(2**exponent))
    return (rng or random).uniform(0.0, max(ceiling, 0.0))


def render_text(n: Notification) -> tuple[str, str]:
    """The (subject, body) a person reads for ``n``.

    Known kinds: ``parcel_stored`` (payload ``kiosk_name``, ``compartment``, ``code``,
    ``expires_at`` ISO 8601; ``replaces_code`` once the kiosk key was replaced),
    ``pickup_reminder`` (``kiosk_name``, ``expires_at``) and ``parcel_expired``
    (``kiosk_name``). An unknown kind gets a generic text that shows no
    payload value. Only the body may contain the pickup code, never the subject (subjects are
    shown in previews and in mail server logs).

    Raises :class:`DeliveryError` (not retryable) for a ``parcel_stored`` without a code.
    """
    p = n.payload
    kiosk = _text(p.get("kiosk_name")) or "the parcel locker"
    if n.kind == "parcel_stored":
        code = _text(p.get("code"))
        if not code:
            raise DeliveryError(
                f"notification {n.key}: parcel_stored without a pickup code", retryable=False
            )
        where = (
            f"{kiosk} (compartment {_text(p['compartment'])})" if p.get("compartment") else kiosk
        )
        body = f"Your parcel is ready for pickup at {where}. Pickup code: {group_code(code)}."
        if p.get("replaces_code"):
            body = "Your pickup code has changed; the one sent before no longer works. " + body
        return f"Your parcel is ready for pickup at {kiosk}", body + _before(p.get("expires_at"))
    if n.kind == "pickup_reminder":
        body = f"Reminder: your parcel is waiting for you at {kiosk}."
        return f"Reminder: your parcel is waiting at {kiosk}", body + _before(p.get("expires_at"))
    if n.kind == "parcel_expired":
        body = (
            f"Your parcel at {kiosk} was not collected in time. It will be returned to the sender."
        )
        return f"Your parcel at {kiosk} was not collected", body
    return "News about your parcel", "There is news about your parcel at the parcel locker."


def _text(value: object) -> str:
    """A payload value as one line of text (no line breaks to inject headers or SMS lines)."""
    return "" if value is None else " ".join(str(value).split())


def _before(expires_at: object) -> str:
    if not expires_at:
        return ""
    return f" Collect it before {_format_time(expires_at)}."


def _format_time(value: object) -> str:
    """``2026-05-12T14:00:00+00:00`` as ``2026-05-12 14:00 UTC``; anything else as given."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return _text(value)
    text = moment.strftime("%Y-%m-%d %H:%M")
    offset = moment.utcoffset()
    if offset is None:
        return text
    return f"{text} {'UTC' if offset == timedelta(0) else moment.tzname()}"


# --- the registry ------------------------------------------------------------------------------


class ConfiguredBackend(Backend, Protocol):
    """A back end class as the registry holds it: built from the config's ``[notify]``."""

    @classmethod
    def from_options(cls, notify: NotifySection, data_dir: Path) -> Self:
        """The back end from its own options table (``[notify.webhook]``); ``data_dir``
        is where a relative path of it lives."""
        ...


def backend_class(name: BackendName) -> type[ConfiguredBackend]:
    """The back end named ``name``: the class of that name in
    ``kiosk.notify.backends.<name>`` (``webhook``: ``WebhookBackend``), imported only now,
    so that importing this module (the contract, for the API and the dispatcher) loads
    neither smtplib nor httpx. :data:`~kiosk.config.notify.BackendName` is the list."""
    module = importlib.import_module(f"kiosk.notify.backends.{name}")
    cls: type[ConfiguredBackend] = getattr(module, f"{name.capitalize()}Backend")
    return cls


def backend_from_options(notify: NotifySection, data_dir: Path) -> Backend:
    """The back end ``notify.backend`` names, built from its options."""
    return backend_class(notify.backend).from_options(notify, data_dir)


def build_backend(kind: str, **settings: Any) -> Backend:
    """The back end named ``kind`` (one of :data:`~kiosk.config.notify.BACKEND_NAMES`)
    built from ``settings``, its constructor's arguments.

    Raises :class:`InvalidInput` for an unknown kind, an unknown setting (with a suggestion)
    or a missing one.
    """
    if kind not in BACKEND_NAMES:
        raise InvalidInput(
            f"unknown notification back end {kind!r}; expected one of {', '.join(BACKEND_NAMES)}"
        )
    cls = backend_class(cast(BackendName, kind))
    params = list(inspect.signature(cls).parameters)
    for name in settings:
        if name not in params:
            close = difflib.get_close_matches(name, params, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InvalidInput(f"notification back end {kind!r}: unknown setting {name!r}{hint}")
    missing = [
        name
        for name, p in inspect.signature(cls).parameters.items()
        if p.default is inspect.Parameter.empty and name not in settings
    ]
    if missing:
        raise InvalidInput(f"notification back end {kind!r}: missing setting {missing[0]!r}")
    backend: Backend = cls(**settings)
    return backend
