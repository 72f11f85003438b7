"""PINs and badges of couriers and technicians.

A person signs in with who they are (their name, or their badge, which only names them)
and their PIN. PINs are short and guessable offline, so they are stored with scrypt (a
slow, salted hash) and checked for the one person named. Badges are scanned, so they
need an indexed lookup: they are stored as an HMAC under the kiosk key.

How long a PIN must be, per role, is the config's (``security.courier_pin_digits``,
``security.technician_pin_digits``); :func:`check_new_pin` holds a new PIN to it and
refuses the PINs a guesser tries first. :mod:`kiosk.access.bounds` counts what is left.
"""

from __future__ import annotations

import base64
import binascii
import ctypes
import ctypes.util
import hashlib
import hmac
import re
import secrets

from kiosk.errors import InvalidInput

__all__ = [
    "MAX_DIGITS",
    "PERSON_NAME",
    "badge_tag",
    "check_new_pin",
    "hash_pin",
    "is_verifier",
    "validate_pin",
    "verify_nobody",
    "verify_pin",
    "weak_pins",
]

PERSON_NAME = re.compile(r"[A-Za-z0-9-]{1,32}")
"""A courier's or technician's name: what the kiosk's keyboard types (read without regard
to capitals)."""
MIN_DIGITS = 4  # the shortest PIN the config may ask for
MAX_DIGITS = 12

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


def validate_pin(pin: str, min_digits: int = MIN_DIGITS) -> str:
    """``pin`` if it is ``min_digits`` to 12 ASCII digits; otherwise :class:`InvalidInput`.

    The message never repeats the PIN.
    """
    if not (min_digits <= len(pin) <= MAX_DIGITS and pin.isascii() and pin.isdigit()):
        raise InvalidInput(f"A PIN has {min_digits} to {MAX_DIGITS} digits")
    return pin


def check_new_pin(pin: str, role: str, min_digits: int) -> str:
    """``pin`` if a ``role`` (courier, technician) may have it; otherwise
    :class:`InvalidInput` saying why, without the PIN.

    It must have ``min_digits`` to 12 digits and must not be one a guesser tries first
    (:func:`weak_pins`).
    """
    if not (min_digits <= len(pin) <= MAX_DIGITS and pin.isascii() and pin.isdigit()):
        raise InvalidInput(
            f"a {role}'s PIN has {min_digits} to {MAX_DIGITS} digits "
            f"(security.{role}_pin_digits = {min_digits}); choose a longer one"
        )
    if pin in weak_pins(len(pin)):
        raise InvalidInput(
            "that PIN is among the first a guesser tries (one digit repeated, or digits "
            "counting up or down); choose another"
        )
    return pin


def weak_pins(digits: int) -> frozenset[str]:
    """The PINs of ``digits`` digits that :func:`check_new_pin` refuses: one digit
    repeated (``000000``) and digits counting up or down by one, 9 and 0 adjoining
    (``123456``, ``890123``, ``654321``)."""
    found = set()
    for first in range(10):
        for step in (0, 1, -1):
            found.add("".join(str((first + step * i) % 10) for i in range(digits)))
    return frozenset(found)


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


def is_verifier(stored: str) -> bool:
    """Whether ``stored`` is a hash :func:`verify_pin` can check (scrypt, parameters no
    costlier than ours allow, 16 to 64 bytes): what a staff list from the network must
    carry."""
    return _parse(stored) is not None


def verify_nobody(pin: str) -> bool:
    """A check as slow as :func:`verify_pin` that never matches: for a name or badge that
    is nobody's, so the answer's timing does not tell who is enrolled."""
    verify_pin(pin, _NOBODY)
    return False


# Any salt and digest of our parameters: what matters is that scrypt runs as it would.
_NOBODY = "$".join((_SCHEME, str(_N), str(_R), str(_P), "A" * 22 + "==", "A" * 43 + "="))


def badge_tag(key: bytes, badge: str) -> str:
    """HMAC-SHA256 (hex) of a scanned badge code under the kiosk key."""
    return hmac.new(key, badge.encode("utf-8"), hashlib.sha256).hexdigest()


def _scrypt(pin: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    _keep_large_blocks_out_of_the_heap()
    try:
        return hashlib.scrypt(
            pin.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=_MAXMEM
        )
    finally:
        _give_back_memory()


# scrypt's 16 MB of working memory, and what glibc does with it when it is freed:
#
# * glibc maps a block that large on its own and unmaps it when freed, but only until
#   the first such block is freed: that raises its threshold for "large" to the block's
#   size, and the next 16 MB come from the heap of the thread that asked (the daemon
#   checks PINs on a worker thread). Freed there, they stay resident for good, and
#   malloc_trim cannot hand back a worker thread's heap: an idle kiosk sat at 76 MB
#   after two sign-ins instead of 60. Fixing the threshold (M_MMAP_THRESHOLD, 1 MiB)
#   keeps every such block mapped on its own, so freeing it gives it back.
# * malloc_trim(0) after each check hands back what is left free in the main heap.
_M_MMAP_THRESHOLD = -3  # from glibc's malloc.h
_LARGE_BLOCK = 1 << 20


def _load_libc(name: str) -> object | None:
    """A glibc function by name, or None on a C library without it."""
    path = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(path), name, None) if path else None
    except OSError:
        return None


_MALLOC_TRIM = _load_libc("malloc_trim")
_MALLOPT = _load_libc("mallopt")
_threshold_fixed = False


def _keep_large_blocks_out_of_the_heap() -> None:
    global _threshold_fixed
    if not _threshold_fixed and _MALLOPT is not None:
        _MALLOPT(_M_MMAP_THRESHOLD, _LARGE_BLOCK)  # type: ignore[operator]
    _threshold_fixed = True


def _give_back_memory() -> None:
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
