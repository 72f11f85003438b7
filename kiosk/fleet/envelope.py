"""Signed remote commands: the envelope an operator signs and a kiosk checks.

Neither the broker nor the network path may open a door by itself, so every command
from the network is a signed envelope, checked on the kiosk against keys pinned there::

    {"kid": "ops-2026", "payload": "<base64 of the exact payload bytes>",
     "sig": "<base64 of Ed25519(private key, payload bytes)>"}

    payload = {"id": "<unique, 8-64 chars>", "kiosk": "KIOSK-17",
               "issued_at": 1796238586.0, "expires_at": 1796238706.0,
               "command": "open", "args": {"compartment": "A07"}}

The signature covers the payload's bytes as sent, so there is no canonical form to get
wrong. :func:`verify` refuses, with a reason, an envelope that is malformed, unsigned,
signed by a key not in the kiosk's keyring, forged, meant for another kiosk, expired,
not yet valid, or valid for longer than :data:`MAX_LIFETIME_S`; times are checked with
:data:`LEEWAY_S` for clocks that disagree a little. Whether a command was seen before
(a replay) is the store's to say, in the same transaction as the command's action.
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

from kiosk.errors import LockerError

MAX_LIFETIME_S = 300.0
LEEWAY_S = 30.0
_ID = re.compile(r"[A-Za-z0-9_.:-]{8,64}")
_KID = re.compile(r"[A-Za-z0-9_.-]{1,64}")

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
    """A remote command that is not acted on; ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class KeyringError(LockerError):
    """The pinned keyring cannot be read."""


@dataclass(frozen=True)
class Command:
    """A command whose envelope checked out."""

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
    """The envelope of one command, ready to publish (the operator's side)."""
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


def verify(raw: bytes, keyring: Keyring, kiosk: str, now: float | None = None) -> Command:
    """The command in ``raw`` if its envelope checks out; else :class:`CommandRefused`."""
    now = time.time() if now is None else now
    envelope = _json_object(raw, "the envelope")
    kid, payload_b64, sig_b64 = (envelope.get(k) for k in ("kid", "payload", "sig"))
    if not isinstance(payload_b64, str):
        raise CommandRefused("malformed", "the envelope has no payload")
    if not sig_b64 or not kid:
        raise CommandRefused("unsigned", "the command is not signed")
    if not isinstance(kid, str) or kid not in keyring.keys:
        raise CommandRefused("unknown_key", f"key {str(kid)[:64]!r} is not pinned on this kiosk")
    payload, signature = _b64(payload_b64), _b64(sig_b64)
    try:
        keyring.keys[kid].verify(signature, payload)
    except InvalidSignature:
        raise CommandRefused("bad_signature", "the signature does not match") from None
    body = _json_object(payload, "the payload")
    return _check_body(body, kid, payload, kiosk, now)


def _is_time(value: object) -> bool:
    """A finite number of seconds (JSON's ``true`` is no time, nor NaN nor Infinity)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_body(body: dict[str, Any], kid: str, payload: bytes, kiosk: str, now: float) -> Command:
    cid, target, command = body.get("id"), body.get("kiosk"), body.get("command")
    issued, expires, args = body.get("issued_at"), body.get("expires_at"), body.get("args", {})
    if not (isinstance(cid, str) and _ID.fullmatch(cid)) or not isinstance(command, str):
        raise CommandRefused("malformed", "the command has no valid id or name")
    if not (_is_time(issued) and _is_time(expires)) or not isinstance(args, dict):
        raise CommandRefused("malformed", "the command's times or arguments are not valid")
    assert isinstance(issued, int | float) and isinstance(expires, int | float)
    if expires < issued:
        raise CommandRefused("malformed", "the command expires before it was issued")
    if target != kiosk:
        raise CommandRefused("wrong_kiosk", f"the command is for kiosk {str(target)[:64]!r}")
    if expires - issued > MAX_LIFETIME_S:
        raise CommandRefused(
            "too_long_lived", f"valid for {expires - issued:.0f} s, at most {MAX_LIFETIME_S:.0f}"
        )
    if now > expires + LEEWAY_S:
        raise CommandRefused("expired", f"expired {now - expires:.0f} s ago")
    if issued > now + LEEWAY_S:
        raise CommandRefused("not_yet_valid", f"issued {issued - now:.0f} s in the future")
    return Command(cid, target, command, args, float(issued), float(expires), kid, payload)


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise CommandRefused("malformed", f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise CommandRefused("malformed", f"{what} is not a JSON object")
    return value


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
