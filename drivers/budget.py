"""The time a poll may take: :meth:`drivers.base.Driver.read_within` for bus drivers.

A poll's budget counts from when the driver first has its bus, so waiting for another
board's exchange on a shared bus does not cost this board its answer. No attempt waits
less than ``least_s`` (the frames' wire time and a margin): with a budget shorter than
that, one attempt is still made.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

__all__ = ["ReadBudget"]


@dataclass
class ReadBudget:
    """``seconds`` for one read and its retries; see the module docstring."""

    seconds: float
    least_s: float
    deadline: float | None = None

    def timeout(self, timeout_s: float) -> float:
        """The wait for this attempt's reply, ``timeout_s`` at most; the caller holds
        the bus (the first call starts the clock)."""
        now = time.monotonic()
        if self.deadline is None:
            self.deadline = now + self.seconds
        return max(min(timeout_s, self.deadline - now), self.least_s)

    def allows(self, wait_s: float) -> bool:
        """Whether a retry after a wait of ``wait_s`` still fits."""
        return self.deadline is None or self.deadline - time.monotonic() >= wait_s + self.least_s
