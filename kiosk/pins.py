"""PINs and badges of couriers and technicians.

PINs are short and guessable offline, so they are stored with scrypt (a slow, salted
hash) and checked one user at a time. Badges are long random tokens that are scanned,
so they need an indexed lookup: they are stored as an HMAC under the kiosk key.
"""

from __future__ import annotations

import base64
import binascii
import ctypes
import ctypes.util
import hashlib
import hmac
import secrets

from kiosk.errors import InvalidInput

__all__ = ["badge_tag", "hash_pin", "validate_pin", "verify_pin"]

_SCHEME = "scrypt"
_N = 2**14
_R = 8
_P = 1
_SALT_BYTES = 16
_KEY_BYTES = 32
# Refuse stored parameters that would make one check cost far more than ours:
# a tampered users table must not turn a login into a denial of service.
_MAX_N = 2**20
_MAX_R = 32
_MAX_P = 16
_MAXMEM = 128 * 1024 * 1024


def validate_pin(pin: str) -> str:
    """``pin`` if it is 4 to 12 ASCII digits; otherwise :class:`InvalidInput`.

    The message never repeats the PIN.
    """
    if not (4 <= len(pin) <= 12 and pin.isascii() and pin.isdigit()):
        raise InvalidInput("A PIN has 4 to 12 digits")
    return pin


def hash_pin(pin: str) -> str:
    """A salted scrypt hash: ``scrypt$16384$8$1$<salt b64>$<hash b64>``."""
    validate_pin(pin)
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(pin, salt, _N, _R, _P, _KEY_BYTES)
    return "$".join((_SCHEME, str(_N), str(_R), str(_P), _b64(salt), _b64(digest)))


def verify_pin(pin: str, stored: str) -> bool:
    """Whether ``pin`` matches ``stored`` (from :func:`hash_pin`); constant-time compare.

    A malformed ``stored`` value gives ``False``, never an exception.
    """
    parsed = _parse(stored)
    if parsed is None:
        return False
    n, r, p, salt, expected = parsed
    try:
        actual = _scrypt(pin, salt, n, r, p, len(expected))
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(actual, expected)


def badge_tag(key: bytes, badge: str) -> str:
    """HMAC-SHA256 (hex) of a scanned badge code under the kiosk key."""
    return hmac.new(key, badge.encode("utf-8"), hashlib.sha256).hexdigest()


def _scrypt(pin: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    try:
        return hashlib.scrypt(
            pin.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=_MAXMEM
        )
    finally:
        _give_back_memory()


def _load_trim() -> object | None:
    """glibc's ``malloc_trim``, or None on a C library without it."""
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


_MALLOC_TRIM = _load_trim()


def _give_back_memory() -> None:
    """scrypt's 16 MB of working memory is freed into the C heap, where glibc keeps it
    resident; an idle kiosk would carry it from every sign-in on. Hand it back."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)  # type: ignore[operator]


def _parse(stored: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != _SCHEME:
        return None
    try:
        n, r, p = (int(part) for part in parts[1:4])
        salt = base64.b64decode(parts[4], validate=True)
        expected = base64.b64decode(parts[5], validate=True)
    except (ValueError, binascii.Error):
        return None
    if not _parameters_ok(n, r, p) or not salt or not 16 <= len(expected) <= 64:
        return None
    return n, r, p, salt, expected


def _parameters_ok(n: int, r: int, p: int) -> bool:
    is_power_of_two = n > 1 and n & (n - 1) == 0
    return is_power_of_two and n <= _MAX_N and 1 <= r <= _MAX_R and 1 <= p <= _MAX_P


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
