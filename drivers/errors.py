"""The project's exception family.

It lives in :mod:`drivers` because drivers sit at the bottom of the import graph and
must raise it without importing :mod:`kiosk`; the kiosk extends it.
"""

from __future__ import annotations


class LockerError(Exception):
    """Base of every error this project raises on purpose."""


class DriverError(LockerError):
    """A board could not be driven or read. The message names the board."""

    def __init__(self, board: str, message: str) -> None:
        super().__init__(f"board {board!r}: {message}")
        self.board = board


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
