"""Console passwords: argon2id hashes (argon2-cffi), never the password itself."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
_hasher = PasswordHasher()  # argon2id, RFC 9106's second recommended parameters


class WeakPassword(ValueError):
    pass


def check_strength(password: str, username: str) -> None:
    """Refuse a password too short, or one that is the username."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters")
    if password.strip().lower() == username.lower():
        raise WeakPassword("the password must not be the username")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)
