"""Asking again: the attempts of one request to a board, and the waits between them.

Every retry and every back-off in :mod:`drivers` goes through here: a bus driver's
request (:func:`retry`), the poller's reopening of a board that is not connected, the
output watchdog's repeated off, a scanner that went away (:class:`Backoff` alone).

A request is made ``retries + 1`` times at most. Between two attempts the caller's
:class:`Backoff` sets the wait: ``first_s``, doubling, at most ``max_s``. A poll, which
has a :class:`~drivers.budget.ReadBudget`, waits only :data:`POLL_GAP_S` instead, and
makes another attempt only while its budget still holds one (the next poll is the real
retry). A caller may stop sooner (``may_retry``: a Modbus flash whose repeat could keep a
coil on past the cap). For a Kerong board with 3 retries, a read that never succeeds::

    attempt 1 ✗ ─ 20 ms ─ attempt 2 ✗ ─ 40 ms ─ attempt 3 ✗ ─ 80 ms ─ attempt 4 ✗ ─► Exhausted
    poll:  attempt 1 ✗ ─ 2 ms ─ attempt 2 ✗ ─► Exhausted (the budget holds no third)

What a caller may rely on: an error that is not one of ``retry_on`` leaves at once,
untouched (a Modbus exception reply is final); when every attempt failed, or no more may
be made, :class:`Exhausted` carries the last attempt's error and how many were made; each
attempt after the first counts one in the board's ``retries``; the waits leave the bus
free (an attempt holds the bus only while it runs).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from drivers.budget import ReadBudget
from drivers.counters import BusCounters

__all__ = ["POLL_GAP_S", "Backoff", "Exhausted", "retry"]

_T = TypeVar("_T")

POLL_GAP_S = 0.002
"""Between a poll's attempts: the line has turned round and other boards may have the bus."""

_MAX_DOUBLINGS = 32  # past this the cap has long been reached: no float overflow


@dataclass(frozen=True)
class Backoff:
    """Waits growing from ``first_s``, doubling, at most ``max_s``, each spread by up to
    ``± jitter`` (a fraction) so that boards that failed together do not retry together."""

    first_s: float
    max_s: float = math.inf
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if self.first_s < 0 or self.max_s < self.first_s or not 0 <= self.jitter < 1:
            raise ValueError("a back-off needs 0 <= first_s <= max_s and 0 <= jitter < 1")

    def wait(self, retry: int) -> float:
        """The wait before retry number ``retry`` (1 for the first)."""
        wait = min(self.first_s * 2.0 ** min(retry - 1, _MAX_DOUBLINGS), self.max_s)
        if self.jitter:
            wait *= random.uniform(1 - self.jitter, 1 + self.jitter)
        return wait


class Exhausted(Exception):
    """No attempt of a request succeeded: ``last`` is the last one's error, ``attempts``
    how many were made."""

    def __init__(self, last: Exception, attempts: int) -> None:
        super().__init__(f"{last} ({attempts} attempt{'s' if attempts > 1 else ''})")
        self.last = last
        self.attempts = attempts

    @property
    def tried(self) -> str:
        """``"1 attempt"``, ``"3 attempts"``: as a message says it."""
        return f"{self.attempts} attempt{'s' if self.attempts > 1 else ''}"


def retry(
    attempt: Callable[[], _T],
    *,
    retries: int,
    backoff: Backoff,
    retry_on: tuple[type[Exception], ...],
    counters: BusCounters | None,
    budget: ReadBudget | None = None,
    may_retry: Callable[[float], bool] | None = None,
) -> _T:
    """``attempt()`` until it returns, at most ``retries + 1`` times; see the module.

    ``may_retry(at)`` is asked before each retry with when it would begin, in seconds
    after the first attempt began (its wait included). ``counters`` (``None`` for
    frames that are not the board's, a bus scan's) counts each retry. Raises
    :class:`Exhausted`, or what ``attempt`` raised that is not one of ``retry_on``.
    """
    started = time.monotonic()
    made = 0
    while True:
        made += 1
        try:
            return attempt()
        except retry_on as exc:
            if made > retries:
                raise Exhausted(exc, made) from exc
            wait = backoff.wait(made) if budget is None else POLL_GAP_S
            if may_retry is not None and not may_retry(time.monotonic() - started + wait):
                raise Exhausted(exc, made) from exc
            if budget is not None and not budget.allows(wait):
                raise Exhausted(exc, made) from exc
        if counters is not None:
            counters.retries += 1
        time.sleep(wait)
