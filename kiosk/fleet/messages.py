"""Every message an operator sends a kiosk, built and signed in one place.

``locker-fleet`` and any other program of the operator's (a back office) send through
these functions, so each kind of message is built once, signed with the operator's key,
and within the rules a kiosk checks (docs/fleet.md, "What is signed, and for how long")::

    signer = Signer(key, "ops-2026")
    out = messages.announce(signer, "KIOSK-17", "JJD0001", "M", phone="+491701234567")
    out.topic, out.payload, out.retain    # publish these, at QoS 1
    out.id                                # the kiosk's result carries this id

Nothing here talks to the broker (:class:`kiosk.fleet.operator.Operator.deliver` does).
A message is refused here, with ValueError, where a kiosk would refuse it for its form:
an unknown name, a lifetime longer than its topic allows, a version that is not a whole
number or lies in the future.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.fleet.envelope import (
    ANNOUNCEMENTS,
    DESIRED_CONFIG,
    LEEWAY_S,
    Channel,
    channel_of,
    sign,
)

ROOT = "lk/v1/kiosk"
COMMAND_LIFETIME_S = 120.0
"""A command's life by default: long enough for a kiosk on a slow link, short enough
that one nobody saw answered is gone before anyone wonders whether it still acts."""
LONG_LIFETIME_S = {
    ANNOUNCEMENTS.leaf: ANNOUNCEMENTS.max_lifetime_s,
    DESIRED_CONFIG.leaf: DESIRED_CONFIG.max_lifetime_s,
}
"""Announcements and desired config live as long as their topic allows by default (30
days), so a kiosk that comes back after days still applies them."""

_versions = threading.Lock()
_last_version = 0


@dataclass(frozen=True)
class Signer:
    """The operator's private key and the id a kiosk's keyring knows it by."""

    key: Ed25519PrivateKey
    kid: str


@dataclass(frozen=True)
class Outgoing:
    """One signed message, ready to publish."""

    kiosk: str
    channel: Channel
    payload: bytes
    """The envelope, exactly as it is to be published (and re-published: a kiosk that
    has it already answers a copy as a replay)."""
    body: dict[str, Any]
    """What it says: ``id``, ``kiosk``, ``issued_at``, ``expires_at``, ``command``,
    ``args``."""

    @property
    def id(self) -> str:
        return str(self.body["id"])

    @property
    def name(self) -> str:
        return str(self.body["command"])

    @property
    def topic(self) -> str:
        return topic(self.kiosk, self.channel.leaf)

    @property
    def retain(self) -> bool:
        """A desired config is retained: a kiosk reads it at every connect."""
        return self.channel is DESIRED_CONFIG

    @property
    def expires_at(self) -> float:
        return float(self.body["expires_at"])


def topic(kiosk: str, leaf: str) -> str:
    return f"{ROOT}/{kiosk}/{leaf}"


def check_kiosk_id(kiosk: str) -> str:
    """A kiosk id usable as one topic level (no wildcards, no separators)."""
    if not kiosk or any(c in kiosk for c in "/+#\0") or len(kiosk) > 64:
        raise ValueError(f"not a kiosk id: {kiosk!r}")
    return kiosk


def signed(
    signer: Signer,
    kiosk: str,
    name: str,
    args: Mapping[str, Any] | None = None,
    *,
    lifetime_s: float | None = None,
    now: float | None = None,
    message_id: str | None = None,
) -> Outgoing:
    """Any message by its name (``open``, ``announce``, ``desired_config``, ...), on the
    topic that carries it, valid for ``lifetime_s`` (by default: a command 120 s, an
    announcement or a desired config as long as their topic allows)."""
    channel = channel_of(name)
    life = lifetime_s
    if life is None:
        life = LONG_LIFETIME_S.get(channel.leaf, COMMAND_LIFETIME_S)
    if not 0 < life <= channel.max_lifetime_s:
        raise ValueError(
            f"a message on {channel.leaf} lives at most {channel.max_lifetime_s:g} s, not {life:g}"
        )
    issued = time.time() if now is None else now
    envelope = sign(
        signer.key, signer.kid, check_kiosk_id(kiosk), name, args, life, issued, message_id
    )
    body = json.loads(base64.b64decode(json.loads(envelope)["payload"]))
    return Outgoing(kiosk, channel, envelope, body)


# -- commands (each lives COMMAND_LIFETIME_S unless told) ------------------------------


def open_door(signer: Signer, kiosk: str, compartment: str, **kw: Any) -> Outgoing:
    """Open one door (counted by the kiosk's hourly cap and its mass-open guard)."""
    return signed(signer, kiosk, "open", {"compartment": compartment}, **kw)


def out_of_service(
    signer: Signer, kiosk: str, compartment: str, reason: str, **kw: Any
) -> Outgoing:
    return signed(
        signer, kiosk, "out_of_service", {"compartment": compartment, "reason": reason}, **kw
    )


def in_service(signer: Signer, kiosk: str, compartment: str, **kw: Any) -> Outgoing:
    return signed(signer, kiosk, "in_service", {"compartment": compartment}, **kw)


def extend(signer: Signer, kiosk: str, barcode: str, hours: float, **kw: Any) -> Outgoing:
    """Hold a stored parcel ``hours`` longer (within the kiosk's policy.max_extend_hours)."""
    return signed(signer, kiosk, "extend", {"barcode": barcode, "hours": hours}, **kw)


def cancel_announcement(signer: Signer, kiosk: str, barcode: str, **kw: Any) -> Outgoing:
    """Withdraw an announcement now (a command: refused after 2 minutes unseen)."""
    return signed(signer, kiosk, "cancel_announcement", {"barcode": barcode}, **kw)


def selftest(signer: Signer, kiosk: str, **kw: Any) -> Outgoing:
    """Read every board and door sensor; opens nothing."""
    return signed(signer, kiosk, "selftest", {}, **kw)


def resend_events(signer: Signer, kiosk: str, from_seq: int, **kw: Any) -> Outgoing:
    """Send the event log again from ``from_seq`` (a consumer found a gap)."""
    if isinstance(from_seq, bool) or not isinstance(from_seq, int) or from_seq < 1:
        raise ValueError(f"from_seq must be a whole number from 1, not {from_seq!r}")
    return signed(signer, kiosk, "resend_events", {"from_seq": from_seq}, **kw)


# -- announcements (versioned; 30 days unless told) ------------------------------------


def announce(
    signer: Signer,
    kiosk: str,
    barcode: str,
    size: str,
    phone: str | None = None,
    email: str | None = None,
    *,
    reserve: bool = False,
    reserve_hours: float | None = None,
    version: int | None = None,
    **kw: Any,
) -> Outgoing:
    """Pre-announce a parcel for ``phone`` and/or ``email``; with ``reserve``, the kiosk
    also holds a compartment for it (``reserve_hours``, 24 by default, at most 168)."""
    if not (phone or email):
        raise ValueError("an announcement needs the recipient's phone or e-mail")
    args: dict[str, Any] = {"barcode": barcode, "size": size, "phone": phone, "email": email}
    if reserve:
        args["reserve"] = True
        if reserve_hours is not None:
            args["reserve_hours"] = reserve_hours
    return _versioned(signer, kiosk, "announce", args, version, kw)


def withdraw(
    signer: Signer, kiosk: str, barcode: str, *, version: int | None = None, **kw: Any
) -> Outgoing:
    """Cancel an announcement in the announcements' own order (``action`` cancel): it is
    applied after every earlier announcement of the kiosk's and never before one."""
    return _versioned(signer, kiosk, "cancel", {"barcode": barcode}, version, kw)


# -- desired config (retained; 30 days unless told) ------------------------------------


def desired_config(
    signer: Signer,
    kiosk: str,
    settings: Mapping[str, Any],
    *,
    version: int | None = None,
    **kw: Any,
) -> Outgoing:
    """The settings the operator wants in force (docs/fleet.md lists what a kiosk lets the
    network set); published retained, applied once, never over a later version."""
    return _versioned(signer, kiosk, "desired_config", {"settings": dict(settings)}, version, kw)


def _versioned(
    signer: Signer,
    kiosk: str,
    name: str,
    args: dict[str, Any],
    version: int | None,
    kw: dict[str, Any],
) -> Outgoing:
    now = kw.pop("now", None)
    issued = time.time() if now is None else now
    chosen = next_version(issued) if version is None else version
    if isinstance(chosen, bool) or not isinstance(chosen, int) or chosen < 1:
        raise ValueError(f"a version is a whole number from 1, not {chosen!r}")
    if chosen > int((issued + LEEWAY_S) * 1000):
        raise ValueError(
            f"version {chosen} is in the future: a version is at most the time of signing in "
            "milliseconds (a kiosk refuses one above it)"
        )
    return signed(signer, kiosk, name, {**args, "version": chosen}, now=issued, **kw)


def next_version(now: float) -> int:
    """The time in milliseconds, above every version this process gave before when that
    stays within the rule (at most the time of signing), so announcements made within one
    millisecond still follow one another."""
    global _last_version
    with _versions:
        version = int(now * 1000)
        if version <= _last_version < int((now + LEEWAY_S) * 1000):
            version = _last_version + 1
        _last_version = max(_last_version, version)
        return version
