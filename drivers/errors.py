"""The project's exception family.

It lives in :mod:`drivers` because drivers sit at the bottom of the import graph and
must raise it without importing :mod:`kiosk`; the kiosk extends it.
"""

from __future__ import annotations


class LockerError(Exception):
    """Base of every error this project raises on purpose."""


class DriverError(LockerError):
    """A board could not be driven or read.

    What a caller may rely on: ``board`` names the board, ``reason`` says what went
    wrong without naming it (for a line that already does), and ``channel`` is the lock
    channel concerned, or ``None`` when the error is the board's as a whole. The message
    is ``board 'NAME': REASON``.
    """

    def __init__(self, board: str, reason: str, *, channel: int | None = None) -> None:
        super().__init__(f"board {board!r}: {reason}")
        self.board = board
        self.reason = reason
        self.channel = channel


class OptionsRefused(DriverError):
    """A board's options cannot be accepted, each problem naming the option it is about.

    ``problems`` holds ``(option, reason)`` pairs (``("lock_pins", "GPIO 13 ...")``), so
    that a config check can name each key; the message joins them.
    """

    def __init__(self, board: str, problems: tuple[tuple[str, str], ...]) -> None:
        super().__init__(board, "; ".join(f"{option}: {reason}" for option, reason in problems))
        self.problems = problems


class BoardOffline(DriverError):
    """The board did not answer (time-out, closed port, dead bus)."""


class SilentAfterUnlock(BoardOffline):
    """A poll failed right after an unlock the board did not answer either: two missed
    exchanges in a row, which the poller counts as two misses."""


class NotConnected(BoardOffline):
    """The board has no open driver (it failed to open, or its reopen failed): only a
    reopen brings it back, whereas a driver that is open recovers its port by itself."""


class UnsupportedError(DriverError):
    """The driver does not implement an optional capability."""


class UnknownDriver(LockerError):
    """No driver is registered under the name a config asked for."""
