"""What a board's driver counts of its exchanges on a bus: the same fields on every bus.

``lockerctl status`` shows them per board (frames, errors by kind, retries, when the
board last answered), and ``--json`` gives them whole, so a technician compares a Kerong
board with a Modbus one field by field. Only the error kinds are the bus's own: each
protocol fails in its own ways (a Kerong reply's checksum, a Modbus exception), and each
bus declares its kinds, all of them listed from the start at 0.

The counters are written by the thread that holds the board's exchange and read by
:meth:`BusCounters.stats` from any thread: each field is one value, and ``errors``
never changes its keys, so a reader sees every field whole.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BusCounters"]


@dataclass
class BusCounters:
    """One board's exchanges, counted. ``kinds`` are the error kinds of its bus.

    ``frames_sent``  requests written to the wire for this board (a bus scan's are the
                     bus's, not a board's: not counted)
    ``replies_ok``   replies that passed every check
    ``retries``      attempts made again after a failed one
    ``reopens``      times the port was closed and opened again before an attempt
    ``pulses``       unlocks that ended without an error (the board took the frame)
    ``errors``       failed attempts by kind, every kind of the bus listed
    ``last_seen``    wall-clock time of the last good reply, or ``None``
    ``last_error``   the last failure as a person reads it, or ``None``
    """

    kinds: Sequence[str]
    frames_sent: int = 0
    replies_ok: int = 0
    retries: int = 0
    reopens: int = 0
    pulses: int = 0
    errors: dict[str, int] = field(init=False)
    last_seen: float | None = None
    last_error: str | None = None

    def __post_init__(self) -> None:
        self.errors = dict.fromkeys(self.kinds, 0)

    def answered(self) -> None:
        """A reply passed every check: the board is seen now."""
        self.replies_ok += 1
        self.last_seen = time.time()

    def failed(self, kind: str, message: str) -> None:
        """One failed attempt of ``kind``; ``message`` becomes :attr:`last_error`.

        Raises ``ValueError`` for a kind the bus did not declare: a kind counted under
        a name nobody looks for would hide the errors it counts.
        """
        if kind not in self.errors:
            raise ValueError(f"error kind {kind!r} is not one of this bus's {tuple(self.errors)}")
        self.errors[kind] += 1
        self.last_error = message

    def stats(self) -> dict[str, Any]:
        """The counters as ``Driver.stats()`` gives them (``errors`` a copy)."""
        return {
            "frames_sent": self.frames_sent,
            "replies_ok": self.replies_ok,
            "errors": dict(self.errors),
            "retries": self.retries,
            "reopens": self.reopens,
            "pulses": self.pulses,
            "last_seen": self.last_seen,
            "last_error": self.last_error,
        }
