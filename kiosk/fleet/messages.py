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

A **staff list** (:func:`staff_list`) is the whole list of couriers and technicians one
kiosk lets sign in, sealed to that kiosk's staff key (:mod:`kiosk.fleet.sealed`) and
signed; each PIN travels as the verifier :func:`pin_verifier` makes of it, never as
itself.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypedDict, Unpack

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.access import pins
from kiosk.errors import InvalidInput
from kiosk.fleet import sealed
from kiosk.fleet.channels import ANNOUNCEMENTS, DESIRED_CONFIG, LEEWAY_S, STAFF, Channel, channel_of
from kiosk.fleet.envelope import MAX_MESSAGE_BYTES, sign
from kiosk.fleet.payloads import (
    Announcement,
    BarcodeArgs,
    Body,
    DesiredConfigArgs,
    ExtendArgs,
    InServiceArgs,
    OpenArgs,
    OutOfServiceArgs,
    ResendEventsArgs,
    SealedStaff,
    SelftestArgs,
    Settings,
    StaffListArgs,
    VersionedArgs,
)

ROOT = "lk/v1/kiosk"
COMMAND_LIFETIME_S = 120.0
"""A command's life by default: long enough for a kiosk on a slow link, short enough
that one nobody saw answered is gone before anyone wonders whether it still acts."""
LONG_LIFETIME_S = {
    ANNOUNCEMENTS.leaf: ANNOUNCEMENTS.max_lifetime_s,
    DESIRED_CONFIG.leaf: DESIRED_CONFIG.max_lifetime_s,
    STAFF.leaf: STAFF.max_lifetime_s,
}
"""Announcements, desired config and staff lists live as long as their topic allows by
default (30 days), so a kiosk that comes back after days still applies them."""
PERSON_NAME = pins.PERSON_NAME
"""A courier's or technician's name: what the kiosk's keyboard types."""
STAFF_PIN_DIGITS = {"courier": 6, "technician": 8}
"""The fewest digits of a centrally managed PIN, by role: the kiosk's own defaults
(``security.courier_pin_digits``, ``security.technician_pin_digits``). A kiosk whose
config asks for more refuses a shorter PIN at sign-in, as it does a local one."""

_versions = threading.Lock()
_last_version = 0


class Signing(TypedDict, total=False):
    """How any message is signed, besides its arguments: see :func:`signed`."""

    lifetime_s: float | None
    now: float | None
    message_id: str | None


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
    body: Body
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
        """A desired config and a staff list are retained: a kiosk reads them at every
        connect."""
        return self.channel is DESIRED_CONFIG or self.channel is STAFF

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
    args: Mapping[str, object] | None = None,
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


def open_door(signer: Signer, kiosk: str, compartment: str, **kw: Unpack[Signing]) -> Outgoing:
    """Open one door (counted by the kiosk's hourly cap and its mass-open guard)."""
    return signed(signer, kiosk, "open", OpenArgs(compartment=compartment), **kw)


def out_of_service(
    signer: Signer, kiosk: str, compartment: str, reason: str, **kw: Unpack[Signing]
) -> Outgoing:
    args = OutOfServiceArgs(compartment=compartment, reason=reason)
    return signed(signer, kiosk, "out_of_service", args, **kw)


def in_service(signer: Signer, kiosk: str, compartment: str, **kw: Unpack[Signing]) -> Outgoing:
    return signed(signer, kiosk, "in_service", InServiceArgs(compartment=compartment), **kw)


def extend(
    signer: Signer, kiosk: str, barcode: str, hours: float, **kw: Unpack[Signing]
) -> Outgoing:
    """Hold a stored parcel ``hours`` longer (within the kiosk's policy.max_extend_hours)."""
    return signed(signer, kiosk, "extend", ExtendArgs(barcode=barcode, hours=hours), **kw)


def cancel_announcement(
    signer: Signer, kiosk: str, barcode: str, **kw: Unpack[Signing]
) -> Outgoing:
    """Withdraw an announcement now (a command: refused after 2 minutes unseen)."""
    return signed(signer, kiosk, "cancel_announcement", BarcodeArgs(barcode=barcode), **kw)


def selftest(signer: Signer, kiosk: str, **kw: Unpack[Signing]) -> Outgoing:
    """Read every board and door sensor; opens nothing."""
    return signed(signer, kiosk, "selftest", SelftestArgs(), **kw)


def resend_events(signer: Signer, kiosk: str, from_seq: int, **kw: Unpack[Signing]) -> Outgoing:
    """Send the event log again from ``from_seq`` (a consumer found a gap)."""
    if isinstance(from_seq, bool) or not isinstance(from_seq, int) or from_seq < 1:
        raise ValueError(f"from_seq must be a whole number from 1, not {from_seq!r}")
    return signed(signer, kiosk, "resend_events", ResendEventsArgs(from_seq=from_seq), **kw)


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
    **kw: Unpack[Signing],
) -> Outgoing:
    """Pre-announce a parcel for ``phone`` and/or ``email``; with ``reserve``, the kiosk
    also holds a compartment for it (``reserve_hours``, 24 by default, at most 168)."""
    if not (phone or email):
        raise ValueError("an announcement needs the recipient's phone or e-mail")
    args = Announcement(barcode=barcode, size=size, phone=phone, email=email)
    if reserve:
        args["reserve"] = True
        if reserve_hours is not None:
            args["reserve_hours"] = reserve_hours
    return _versioned(signer, kiosk, "announce", args, version, kw)


def withdraw(
    signer: Signer,
    kiosk: str,
    barcode: str,
    *,
    version: int | None = None,
    **kw: Unpack[Signing],
) -> Outgoing:
    """Cancel an announcement in the announcements' own order (``action`` cancel): it is
    applied after every earlier announcement of the kiosk's and never before one."""
    return _versioned(signer, kiosk, "cancel", BarcodeArgs(barcode=barcode), version, kw)


# -- desired config (retained; 30 days unless told) ------------------------------------


def desired_config(
    signer: Signer,
    kiosk: str,
    settings: Settings,
    *,
    version: int | None = None,
    **kw: Unpack[Signing],
) -> Outgoing:
    """The settings the operator wants in force (docs/fleet.md lists what a kiosk lets the
    network set); published retained, applied once, never over a later version."""
    args = DesiredConfigArgs(settings=dict(settings))
    return _versioned(signer, kiosk, "desired_config", args, version, kw)


# -- staff lists (retained, sealed; 30 days unless told) -------------------------------


@dataclass(frozen=True)
class StaffEntry:
    """One person a kiosk lets sign in: their name (as typed on the kiosk's keyboard),
    ``courier`` or ``technician``, their PIN's verifier (:func:`pin_verifier`; ``None``
    while they have not chosen a PIN: the kiosk knows them but signs nobody in with it)
    and the code of their badge, if they have one."""

    name: str
    role: str
    pin: str | None = None
    badge: str | None = None


def pin_verifier(pin: str, role: str) -> str:
    """What the office keeps of ``pin`` and a staff list carries: its salted scrypt hash,
    as the kiosk stores a PIN (:func:`kiosk.access.pins.hash_pin`). ValueError, never naming the
    PIN, when a ``role`` may not have it (too short for :data:`STAFF_PIN_DIGITS`, or
    among the PINs a guesser tries first)."""
    if role not in STAFF_PIN_DIGITS:
        raise ValueError(f"a role is courier or technician, not {role[:20]!r}")
    try:
        return pins.hash_pin(pins.check_new_pin(pin, role, STAFF_PIN_DIGITS[role]))
    except InvalidInput as exc:
        raise ValueError(str(exc)) from None


def check_staff_key(text: str) -> str:
    """``text`` if it is a kiosk's staff key (``locker-kiosk users staff-key`` prints it);
    ValueError saying why not."""
    try:
        sealed.read_public(text)
    except sealed.SealError as exc:
        raise ValueError(f"not a kiosk's staff key: {exc}") from None
    return text.strip()


def staff_list(
    signer: Signer,
    kiosk: str,
    staff_key: str,
    people: Sequence[StaffEntry],
    *,
    version: int | None = None,
    **kw: Unpack[Signing],
) -> Outgoing:
    """Everyone ``kiosk`` lets sign in from the network, sealed to its ``staff_key``:
    published retained, applied once, never over a later version. Whoever is not in it
    may no longer sign in there (a revocation is a list without them), so no later list
    can lose a revocation. ValueError when it would not fit in one message (about 800
    people: :data:`STAFF_LIST_BYTES_EACH`)."""
    box = sealed.seal(staff_key, pack_staff(people), check_kiosk_id(kiosk))
    out = _versioned(signer, kiosk, "staff_list", StaffListArgs(sealed=box), version, kw)
    if len(out.payload) > MAX_MESSAGE_BYTES:
        raise ValueError(
            f"the staff list of {kiosk} ({len(people)} people) would be "
            f"{len(out.payload):,} bytes, above the {MAX_MESSAGE_BYTES:,} a kiosk reads: "
            "allow fewer people on this kiosk"
        )
    return out


STAFF_LIST_BYTES_EACH = 80
"""About what one person adds to a staff list's message (measured: 71 bytes with a
ten-letter name and no badge, 78 with a 32-letter name and a 26-letter badge), so a
message of 64 KB holds about 800 people."""


def pack_staff(people: Sequence[StaffEntry]) -> bytes:
    """The sealed part of a staff list: ``{"people": [[name, role, verifier, badge],
    ...]}`` as compact JSON, deflated. Each verifier keeps 16 bytes of scrypt's output
    (what scrypt gives with a length of 16: the kiosk checks a PIN against as many bytes
    as it is given), which is plenty for a secret of 20 to 27 bits and halves its size."""
    content = SealedStaff(people=[[p.name, p.role, _short(p.pin), p.badge] for p in people])
    return zlib.compress(json.dumps(content, separators=(",", ":")).encode(), 9)


def _short(verifier: str | None) -> str | None:
    if verifier is None:
        return None
    parts = verifier.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ValueError("a PIN verifier is a scrypt hash (pin_verifier makes one)")
    parts[5] = base64.b64encode(base64.b64decode(parts[5])[:16]).decode()
    return "$".join(parts)


def _versioned(
    signer: Signer,
    kiosk: str,
    name: str,
    args: VersionedArgs,
    version: int | None,
    kw: Signing,
) -> Outgoing:
    now = kw.get("now")
    issued = time.time() if now is None else now
    chosen = next_version(issued) if version is None else version
    if isinstance(chosen, bool) or not isinstance(chosen, int) or chosen < 1:
        raise ValueError(f"a version is a whole number from 1, not {chosen!r}")
    if chosen > int((issued + LEEWAY_S) * 1000):
        raise ValueError(
            f"version {chosen} is in the future: a version is at most the time of signing in "
            "milliseconds (a kiosk refuses one above it)"
        )
    return signed(
        signer,
        kiosk,
        name,
        {**args, "version": chosen},
        lifetime_s=kw.get("lifetime_s"),
        now=issued,
        message_id=kw.get("message_id"),
    )


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
