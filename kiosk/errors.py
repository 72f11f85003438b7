"""Errors a person can be shown. Messages never contain a pickup code or a PIN."""

from __future__ import annotations

from drivers.errors import LockerError

__all__ = [
    "AuthError",
    "ConflictError",
    "Forbidden",
    "InvalidInput",
    "LockerError",
    "NeedsAPerson",
    "NoCompartmentFree",
    "NotFound",
    "Throttled",
    "WrongCodeLockedOut",
]


class InvalidInput(LockerError):
    """Input that does not follow the rules (a malformed barcode, an unknown size)."""


class NeedsAPerson(LockerError):
    """The kiosk must not start until a person fixes something: a file others may read,
    a damaged database. A restart cannot cure it; ``locker-kiosk`` exits with status 2,
    which the systemd unit does not restart."""


class NotFound(LockerError):
    """The thing asked for does not exist."""


class ConflictError(LockerError):
    """The request does not fit the current state (e.g. the compartment is busy).

    ``reason`` is a short machine-readable word for front ends that word the message
    themselves (in the person's language).
    """

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


class NoCompartmentFree(ConflictError):
    """No compartment fits: nothing was reserved."""

    def __init__(self, size: str) -> None:
        super().__init__(f"no compartment free for size {size}", "no_compartment")
        self.size = size


class AuthError(LockerError):
    """Wrong PIN or code, or a missing or expired session."""


class WrongCodeLockedOut(AuthError):
    """A wrong input that itself started a lockout: it is answered as wrong (it was
    checked and counted), with the lockout's wait, so a screen shows the lockout at once
    rather than after the next input."""

    reason = "locked"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Forbidden(AuthError):
    """Signed in, but this is not yours to do (another courier's operation)."""


class Throttled(LockerError):
    """Refused because of a lockout; ``retry_after`` is in seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after
