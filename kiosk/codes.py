"""Pickup codes: drawn from :mod:`secrets`, stored only as an HMAC under the kiosk key.

The store never holds a code, only ``code_tag(key, code)``; a stolen database therefore
does not open doors without the key file as well. The key is 32 random bytes in a file of
mode 0600, created at first start; the database records its fingerprint
(:func:`key_fingerprint`), so a key that does not belong to it is refused at start
(:mod:`kiosk.data_dir`) instead of making every live code "not right".
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from kiosk.errors import InvalidInput, LockerError, NeedsAPerson

__all__ = [
    "KEY_BYTES",
    "MAX_DIGITS",
    "MAX_DRAWS",
    "MIN_DIGITS",
    "IssuedCode",
    "KeyFileError",
    "code_tag",
    "create_key",
    "derive_code",
    "group_code",
    "key_fingerprint",
    "load_key",
    "load_or_create_key",
    "new_code",
    "new_nonce",
    "normalize_code",
]

KEY_BYTES = 32
MIN_DIGITS = 6
MAX_DIGITS = 12
# With codes unique among live parcels and 10**6 or more codes, 100 draws all taken
# means the store is broken (or full beyond reason), not bad luck.
MAX_DRAWS = 100

_SEPARATORS = str.maketrans("", "", " -")


class KeyFileError(NeedsAPerson):
    """The kiosk key file is unsafe or damaged; the message says how to fix it."""


def load_or_create_key(path: Path) -> bytes:
    """The kiosk key at ``path``, created (mode 0600) with 32 random bytes if missing.

    Raises :class:`KeyFileError` if the file is readable or writable by group or
    others, or does not hold exactly 32 bytes.
    """
    try:
        return create_key(path)
    except FileExistsError:
        return _load_key(path)


def load_key(path: Path) -> bytes | None:
    """The kiosk key at ``path``, or None when there is no such file (nothing is made).

    Raises :class:`KeyFileError` as :func:`load_or_create_key` does.
    """
    try:
        return _load_key(path)
    except FileNotFoundError:
        return None


def create_key(path: Path) -> bytes:
    """A new kiosk key in a new file at ``path`` (mode 0600, synced to the disk with its
    directory entry). Raises :class:`FileExistsError` if the file exists."""
    key = secrets.token_bytes(KEY_BYTES)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        if os.write(fd, key) != KEY_BYTES:
            raise KeyFileError(f"could not write the kiosk key {path} in full")
        os.fsync(fd)
    finally:
        os.close(fd)
    _fsync_directory(path.parent)
    return key


def _fsync_directory(directory: Path) -> None:
    # Without this, a power cut right after first start can lose the new file's name
    # while the store already holds tags made with the key.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _load_key(path: Path) -> bytes:
    # Check the mode of the file we actually read (fstat), not of whatever the name
    # pointed to a moment earlier.
    fd = os.open(path, os.O_RDONLY)
    try:
        info = os.fstat(fd)
        _check_mode(path, info.st_mode)
        key = os.read(fd, KEY_BYTES) if info.st_size == KEY_BYTES else b""
    finally:
        os.close(fd)
    if len(key) != KEY_BYTES:
        raise KeyFileError(
            f"kiosk key {path} holds {info.st_size} bytes, expected {KEY_BYTES}; "
            "restore it from a backup (a new key invalidates every live pickup code)"
        )
    return key


def _check_mode(path: Path, mode: int) -> None:
    if not stat.S_ISREG(mode):
        raise KeyFileError(f"kiosk key {path} is not a regular file")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"kiosk key {path} is accessible by group or others "
            f"(mode {stat.S_IMODE(mode):04o}); fix it with: chmod 600 {path}"
        )


def key_fingerprint(key: bytes) -> str:
    """128 bits (hex) that tell one kiosk key from another and reveal nothing of it: the
    database records it, so a key file can be matched to its database without either
    holding the other."""
    return hmac.new(key, b"locker-kiosk:key-fingerprint", hashlib.sha256).hexdigest()[:32]


def code_tag(key: bytes, code: str) -> str:
    """HMAC-SHA256 (hex) of ``code`` under ``key``: what the store keeps and looks up.

    ``code`` must already be normalised (see :func:`normalize_code`).
    """
    return hmac.new(key, code.encode("ascii"), hashlib.sha256).hexdigest()


class IssuedCode(NamedTuple):
    code: str
    tag: str
    nonce: str


def new_nonce() -> str:
    """128 random bits (hex) from :mod:`secrets`, the seed of one pickup code."""
    return secrets.token_hex(16)


def derive_code(key: bytes, nonce: str, digits: int) -> str:
    """The pickup code that ``nonce`` stands for under ``key``.

    A code is derived rather than stored so the outbox can carry the nonce instead of
    the code until the notification is delivered; after that the nonce is dropped and
    no copy of the code remains anywhere on the kiosk. 64 bits of HMAC output reduced
    modulo 10**12 at most: the bias is below 10**-7.
    """
    _check_digits(digits)
    digest = hmac.new(key, b"pickup-code:" + nonce.encode("ascii"), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**digits:0{digits}d}"


def new_code(key: bytes, digits: int, is_taken: Callable[[str], bool]) -> IssuedCode:
    """A fresh code of ``digits`` digits, its tag and its nonce, unique by ``is_taken(tag)``.

    Leading zeros are allowed (every code of that length is equally likely). Raises
    :class:`InvalidInput` for a length outside 6..12 and :class:`LockerError` after
    100 draws that were all taken.
    """
    _check_digits(digits)
    for _ in range(MAX_DRAWS):
        nonce = new_nonce()
        code = derive_code(key, nonce, digits)
        tag = code_tag(key, code)
        if not is_taken(tag):
            return IssuedCode(code, tag, nonce)
    raise LockerError(f"no free pickup code after {MAX_DRAWS} draws")


def normalize_code(text: str, digits: int) -> str:
    """``text`` without spaces and dashes; it must then be exactly ``digits`` digits.

    The error message never repeats the input.
    """
    code = text.translate(_SEPARATORS)
    if len(code) != digits or not (code.isascii() and code.isdigit()):
        raise InvalidInput(f"A pickup code has {digits} digits")
    return code


def group_code(code: str) -> str:
    """``code`` as a person reads it in the text message and on the screen: in groups of
    at most four, as even as they come, longer ones first (``9126 5383``, ``912 653``,
    ``9126 538 312``). Any character counts as a digit, so a code still being typed
    (``91______``) groups as the finished one will."""
    groups = -(-len(code) // 4)
    if groups <= 1:
        return code
    short, extra = divmod(len(code), groups)
    out, at = [], 0
    for i in range(groups):
        width = short + (1 if i < extra else 0)
        out.append(code[at : at + width])
        at += width
    return " ".join(out)


def _check_digits(digits: int) -> None:
    if not MIN_DIGITS <= digits <= MAX_DIGITS:
        raise InvalidInput(f"pickup codes have {MIN_DIGITS} to {MAX_DIGITS} digits, not {digits}")
