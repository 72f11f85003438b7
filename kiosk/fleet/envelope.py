"""Signed messages from the network: the envelope an operator signs and a kiosk checks.

Everything that reaches a kiosk from its network and can change who receives a code,
what is held for whom, a setting, or what the kiosk sends is a signed envelope, checked
on the kiosk against keys pinned there::

    {"kid": "ops-2026", "payload": "<base64 of the exact payload bytes>",
     "sig": "<base64 of Ed25519(private key, payload bytes)>"}

    payload = {"id": "<unique, 8-64 chars>", "kiosk": "KIOSK-17",
               "issued_at": 1796238586.0, "expires_at": 1796238706.0,
               "command": "open", "args": {"compartment": "A07"}}

The signature covers the payload's bytes as sent, so there is no canonical form to get
wrong. Four topics carry envelopes (:data:`~kiosk.fleet.channels.CHANNELS`), each with
the names it accepts and the longest life an envelope on it may have: a **command** lives
at most 5 minutes (a door opens now or never), an **announcement**, a **desired config**
or a **staff list** at most 30 days (a kiosk that was away for days still takes them
when it comes back; each is applied once, and never over a later one, whenever it
arrives).

:func:`open_envelope` refuses, with a reason, an envelope that is malformed (not JSON,
larger than :data:`MAX_MESSAGE_BYTES`, nested deeper than :data:`MAX_DEPTH`), unsigned,
signed by a key not in the kiosk's keyring, forged, meant for another kiosk, or valid
for longer than its channel allows; :func:`check_time` one that is expired or not yet
valid (with :data:`~kiosk.fleet.channels.LEEWAY_S` for clocks that disagree a little).
Whether a message was seen before (a replay) is the store's to say, in the same
transaction as its action.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import secrets
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.errors import InvalidInput, LockerError
from kiosk.fleet.channels import COMMANDS, LEEWAY_S, Channel

MAX_MESSAGE_BYTES = 65_536
"""The largest message a kiosk reads (the shipped broker's ``message_size_limit``)."""
MAX_DEPTH = 16
"""The deepest nesting of JSON a kiosk reads; its messages need 4."""
MAX_BRACKETS = 1024
"""The most arrays and objects one message may hold; its messages need a dozen."""
_ID = re.compile(r"[A-Za-z0-9_.:-]{8,64}")
_KID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")

REASONS = (
    "malformed",
    "unsigned",
    "unknown_key",
    "bad_signature",
    "wrong_kiosk",
    "expired",
    "not_yet_valid",
    "too_long_lived",
)


class CommandRefused(LockerError):
    """A message that is not acted on; ``reason`` is one of :data:`REASONS` (or, from the
    kiosk's own checks, ``stale``, ``hourly_cap`` and the like)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class KeyringError(LockerError):
    """The pinned keyring cannot be read."""


@dataclass(frozen=True)
class Command:
    """A message whose envelope checked out (a command, an announcement, a config)."""

    id: str
    kiosk: str
    command: str
    args: dict[str, Any]
    issued_at: float
    expires_at: float
    kid: str
    payload: bytes = field(repr=False)


@dataclass(frozen=True)
class Keyring:
    """The operator's public keys pinned on this kiosk, by key id."""

    keys: Mapping[str, Ed25519PublicKey]

    @classmethod
    def load(cls, path: Path) -> Keyring:
        """A TOML file of ``key-id = "<base64 raw public key>"`` lines under ``[keys]``."""
        try:
            raw = tomllib.loads(path.read_text())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise KeyringError(f"cannot read the fleet keyring {path}: {exc}") from exc
        table = raw.get("keys")
        if not isinstance(table, dict) or not table:
            raise KeyringError(f"the fleet keyring {path} has no [keys] table with a key in it")
        keys = {}
        for kid, text in table.items():
            if not _KID.fullmatch(kid) or not isinstance(text, str):
                raise KeyringError(f"{path}: keys.{kid}: expected a base64 public key")
            try:
                keys[kid] = Ed25519PublicKey.from_public_bytes(
                    base64.b64decode(text, validate=True)
                )
            except (binascii.Error, ValueError) as exc:
                raise KeyringError(f"{path}: keys.{kid}: not an Ed25519 public key") from exc
        return cls(keys)


def sign(
    key: Ed25519PrivateKey,
    kid: str,
    kiosk: str,
    command: str,
    args: Mapping[str, Any] | None = None,
    lifetime_s: float = 120.0,
    now: float | None = None,
    command_id: str | None = None,
) -> bytes:
    """The envelope of one message, ready to publish (the operator's side).

    This signs whatever it is given; :mod:`kiosk.fleet.messages` builds each kind of
    message within the rules a kiosk checks, and is what an operator's program calls.
    """
    issued = time.time() if now is None else now
    payload = json.dumps(
        {
            "id": command_id or secrets.token_hex(16),
            "kiosk": kiosk,
            "issued_at": issued,
            "expires_at": issued + lifetime_s,
            "command": command,
            "args": dict(args or {}),
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    envelope = {
        "kid": kid,
        "payload": base64.b64encode(payload).decode(),
        "sig": base64.b64encode(key.sign(payload)).decode(),
    }
    return json.dumps(envelope).encode()


def verify(
    raw: bytes,
    keyring: Keyring,
    kiosk: str,
    now: float | None = None,
    channel: Channel = COMMANDS,
) -> Command:
    """The message in ``raw`` if its envelope checks out, times included; else
    :class:`CommandRefused`."""
    command = open_envelope(raw, keyring, kiosk, channel)
    check_time(command, time.time() if now is None else now)
    return command


def open_envelope(raw: bytes, keyring: Keyring, kiosk: str, channel: Channel) -> Command:
    """Everything :func:`verify` checks but the clock: the form, the key, the signature,
    the kiosk, and a lifetime within the channel's. A kiosk answers a replay (an id it
    has seen) before it looks at the time, so a copy that arrives late does nothing and
    says so."""
    envelope = parse_object(raw, "the envelope")
    kid, payload_b64, sig_b64 = (envelope.get(k) for k in ("kid", "payload", "sig"))
    if not sig_b64 or not kid:
        raise CommandRefused("unsigned", "the message is not signed")
    if not isinstance(payload_b64, str):
        raise CommandRefused("malformed", "the envelope has no payload")
    if not isinstance(kid, str) or kid not in keyring.keys:
        raise CommandRefused("unknown_key", f"key {str(kid)[:64]!r} is not pinned on this kiosk")
    payload, signature = _b64(payload_b64), _b64(sig_b64)
    try:
        keyring.keys[kid].verify(signature, payload)
    except InvalidSignature:
        raise CommandRefused("bad_signature", "the signature does not match") from None
    body = parse_object(payload, "the payload")
    return _check_body(body, kid, payload, kiosk, channel)


def check_time(command: Command, now: float) -> None:
    """Refuse a message past its expiry, or issued later than ``now`` (both with leeway)."""
    if now > command.expires_at + LEEWAY_S:
        raise CommandRefused("expired", f"expired {_age(now - command.expires_at)} ago")
    if command.issued_at > now + LEEWAY_S:
        raise CommandRefused(
            "not_yet_valid", f"issued {_age(command.issued_at - now)} in the future"
        )


def version_of(command: Command) -> int:
    """An announcement's, a desired config's or a staff list's ``version``: a whole
    number from 1, and at most the time the message was signed, in milliseconds (with
    leeway).

    The second rule is why no message can move a kiosk's cursor past the present: every
    message signed later, with a version taken from the time (the default), is above it.
    A counter from 1 fits as well.
    """
    version = command.args.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise CommandRefused("malformed", "the version must be a whole number from 1")
    ceiling = int((command.issued_at + LEEWAY_S) * 1000)
    if version > ceiling:
        raise CommandRefused(
            "malformed",
            f"version {version} is above the time the message was signed in milliseconds "
            f"({ceiling})",
        )
    return version


def text_arg(args: Mapping[str, Any], name: str) -> str:
    """A message's text argument (a compartment, a barcode), or InvalidInput naming it."""
    value = args.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name} is missing")
    return value.strip()[:128]


def unverified_id(raw: bytes) -> tuple[str | None, str | None]:
    """The id and name a refused envelope claims, for its answer only (never trusted)."""
    try:
        payload = parse_object(_b64(parse_object(raw, "the envelope").get("payload")), "payload")
    except CommandRefused:
        return None, None
    cid, name = payload.get("id"), payload.get("command")
    return (
        cid[:64] if isinstance(cid, str) else None,
        name[:32] if isinstance(name, str) else None,
    )


def parse_object(raw: bytes, what: str) -> dict[str, Any]:
    """``raw`` as a JSON object, or :class:`CommandRefused` (``malformed``) saying why.

    The size and the nesting are checked before the parser runs: Python's parser raises
    RecursionError, not ValueError, on JSON nested a few thousand deep. Both checks stop
    early, so the worst a broker can send (64 KB of brackets) is refused in well under a
    millisecond.
    """
    if len(raw) > MAX_MESSAGE_BYTES:
        raise CommandRefused("malformed", f"{what} is larger than {MAX_MESSAGE_BYTES} bytes")
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    if nesting(brackets, MAX_DEPTH) > MAX_DEPTH:
        raise CommandRefused("malformed", f"{what} is nested deeper than {MAX_DEPTH}")
    if len(brackets) > 2 * MAX_BRACKETS:
        raise CommandRefused(
            "malformed", f"{what} holds more than {MAX_BRACKETS} arrays and objects"
        )
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise CommandRefused("malformed", f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise CommandRefused("malformed", f"{what} is not a JSON object")
    return value


def nesting(brackets: bytes, limit: int) -> int:
    """How deep ``brackets`` (a message's brackets, those inside strings left out) go,
    counted only until it is past ``limit``; the brackets of a wide message are looked at
    only up to twice :data:`MAX_BRACKETS`."""
    depth = deepest = 0
    for byte in brackets[: 2 * MAX_BRACKETS + 1]:
        depth += 1 if byte in b"[{" else -1
        deepest = max(deepest, depth)
        if deepest > limit:
            break
    return deepest


def _age(seconds: float) -> str:
    if seconds < 2 * 3600:
        return f"{seconds:.0f} s"
    return f"{seconds / 3600:.0f} h" if seconds < 2 * 86400 else f"{seconds / 86400:.0f} days"


def _is_time(value: object) -> bool:
    """A finite number of seconds (JSON's ``true`` is no time, nor NaN nor Infinity)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_body(
    body: dict[str, Any], kid: str, payload: bytes, kiosk: str, channel: Channel
) -> Command:
    cid, target, command = body.get("id"), body.get("kiosk"), body.get("command")
    issued, expires, args = body.get("issued_at"), body.get("expires_at"), body.get("args", {})
    if not (isinstance(cid, str) and _ID.fullmatch(cid)) or not isinstance(command, str):
        raise CommandRefused("malformed", "the message has no valid id or name")
    if not (_is_time(issued) and _is_time(expires)) or not isinstance(args, dict):
        raise CommandRefused("malformed", "the message's times or arguments are not valid")
    assert isinstance(issued, int | float) and isinstance(expires, int | float)
    if expires < issued:
        raise CommandRefused("malformed", "the message expires before it was issued")
    if target != kiosk:
        raise CommandRefused("wrong_kiosk", f"the message is for kiosk {str(target)[:64]!r}")
    if expires - issued > channel.max_lifetime_s:
        raise CommandRefused(
            "too_long_lived",
            f"valid for {_age(expires - issued)}, at most {_age(channel.max_lifetime_s)} "
            f"on {channel.leaf}",
        )
    return Command(cid, target, command, args, float(issued), float(expires), kid, payload)


def _b64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise CommandRefused("malformed", "a field is not base64 text")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise CommandRefused("malformed", "a field is not valid base64") from None


def new_key() -> tuple[Ed25519PrivateKey, str]:
    """A new signing key and its public key as base64 (for a kiosk's keyring)."""
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return key, base64.b64encode(public).decode()


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise KeyringError(f"cannot read the signing key {path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyringError(f"{path} is not an Ed25519 private key")
    return key
