"""One thread per board that samples its sensors and watches its health.

The poller reads through the safety layer (so it never talks to a board while a lock
fires on it) and hands every sample to a callback. The kiosk wraps the callbacks with
``loop.call_soon_threadsafe``: no state is touched on this thread.

Every poll is one read with half a poll period as its budget
(:meth:`drivers.base.Driver.read_within`). The next poll is the retry, so the driver's
own retry schedule (meant for unlocks, about 0.5 s for a silent Kerong board) does not
delay the verdict, and a silent board leaves the bus free half of the time for the other
boards on it.

Offline, for ``offline_after=3`` and ``offline_after_s`` T (R: ``on_sample(readings)``,
N: ``on_sample(None)``): a board is offline once it has missed at least
``offline_after`` polls in a row *and* given no valid reply for T; either alone is not
enough, so neither a burst of damaged replies nor a host that was too busy for a moment
to read an answer in time takes a board offline::

    time    0         ~0.1 s            ... T        T + P
    poll    ok  fail  fail  fail  fail  ... fail     fail
    calls   R   N     N     N     N         N        N on_health(False)
                |-- at once --|  then on the grid     then, while offline: a read
                                                      every period (no on_sample for
                                                      a failed one); the first good
                                                      read: on_health(True), R

The first ``offline_after`` misses are asked again at once (a lost reply costs no
period), the later ones on the grid.

A board that is not connected (:class:`~drivers.errors.NotConnected`: it failed to
open, or its reopen failed) is reopened instead of read, after 0.5 s, 1 s, 2 s, ...
capped at 30 s (each ±jitter) until a reopen succeeds. A board whose driver is open but
gets no answer is only read: the driver recovers its own port (a Kerong bus is flushed
and reopened between attempts), and a reopen would have to switch its outputs off
first, which a silent board refuses, leaving it unconnected until the next reopen.

A change confirmed at once: when a read differs from the one before, the next
``confirm_reads`` reads come ``confirm_s`` apart instead of a period apart, so a
debouncer that wants N agreeing reads over a window W sees them within W of the
change, not N - 1 periods later (the kiosk sets ``confirm_s = W / (N - 1)``). A change
seen while confirming does not start another run: a flapping sensor costs at most
``confirm_reads`` extra reads per period. A quick read is only made where its budget
ends before the grid's next tick, so it never delays a poll of the grid; one that fails
is dropped, not counted as a missed poll: health is judged on the grid's polls alone,
so the extra reads cannot make noise on the bus look like a dead board.

Bounds, with P the poll period (plus the wait for a bus shared with other boards):

* offline: ``on_health(False)`` comes at most ``max(T + P, P + offline_after * P / 2)
  + P / 2`` after the board's last valid reply (the first poll that fails at or past T,
  or the ``offline_after``-th miss asked at once, ends within a period and a budget of
  that): 1.15 s for T = 1 s, 3 misses, 10 Hz; and never sooner than T after it. An unlock the
  board did not answer counts as a failed poll: the poll after it
  (:class:`~drivers.errors.SilentAfterUnlock`) counts twice. A board that falls silent
  as one of its locks fires keeps the poll waiting until the unlock gives up: a Kerong
  board's reply wait and the status request after it, one ``timeout_s`` each (0.2 s
  with the defaults), a Modbus board's flash command and its retries (``retries + 1``
  time-outs); the poll after it is the verdict, half a period later;
* online: an offline board is read every period, so ``on_health(True)`` comes within P
  and one reply of the board answering again (a board that is not connected: at its
  next reopen).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Protocol

from drivers.base import ChannelReading
from drivers.errors import NotConnected, SilentAfterUnlock
from drivers.retry import Backoff

__all__ = [
    "READ_BUDGET",
    "BoardLink",
    "HealthCallback",
    "Poller",
    "SampleCallback",
    "next_deadline",
]

log = logging.getLogger(__name__)

READ_BUDGET = 0.5
"""A poll's read may take this fraction of the poll period."""

_RETRY_GAP_S = 0.002
"""After a missed poll, the next read comes this soon (the bus is let go in between)."""

SampleCallback = Callable[[str, dict[int, ChannelReading] | None, float], None]
"""``on_sample(board, readings or None if the read failed, monotonic time of the read)``"""
HealthCallback = Callable[[str, bool, str | None], None]
"""``on_health(board, online, error)``"""


class BoardLink(Protocol):
    """What the poller needs of the safety layer."""

    def read(self, board: str, budget_s: float | None = None) -> dict[int, ChannelReading]: ...

    def reopen(self, board: str) -> None: ...


def next_deadline(previous: float, period: float, now: float) -> float:
    """The next tick of the grid ``previous + k * period`` that lies after ``now``.

    Ticks are counted from the grid, not from when a read finished, so a slow read
    does not push every later one back; ticks already missed are skipped, not burst.
    """
    following = previous + period
    if following > now:
        return following
    missed = math.floor((now - previous) / period)
    return previous + (missed + 1) * period


class Poller(threading.Thread):
    """Samples one board at ``hz`` until :meth:`stop`.

    After ``offline_after`` failed polls in a row spanning at least ``offline_after_s``
    since the last good read (or the start), ``on_health(board, False, error)`` is
    called once; the board is then read every period, or, while it is not connected,
    reopened with backoff (``backoff_s`` doubling to ``backoff_max_s``, each wait
    jittered by ``±jitter``). The first good read after that calls
    ``on_health(board, True, None)`` and then ``on_sample``. Callbacks that raise are
    logged; they do not stop the poller.
    """

    def __init__(
        self,
        link: BoardLink,
        board: str,
        on_sample: SampleCallback,
        on_health: HealthCallback,
        *,
        hz: float = 10.0,
        offline_after: int = 2,
        offline_after_s: float = 0.0,
        backoff_s: float = 0.5,
        backoff_max_s: float = 30.0,
        jitter: float = 0.2,
        confirm_s: float = 0.0,
        confirm_reads: int = 0,
    ) -> None:
        if hz <= 0 or offline_after < 1 or backoff_s <= 0 or not 0 <= jitter < 1:
            raise ValueError("poller needs hz > 0, offline_after >= 1, backoff_s > 0")
        if offline_after_s < 0:
            raise ValueError("offline_after_s must not be negative")
        if confirm_s < 0 or confirm_reads < 0:
            raise ValueError("confirm_s and confirm_reads must not be negative")
        super().__init__(name=f"poller:{board}", daemon=True)
        self.link = link
        self.board = board
        self.on_sample = on_sample
        self.on_health = on_health
        self.period = 1.0 / hz
        self.budget_s = self.period * READ_BUDGET
        self.offline_after = offline_after
        self.offline_after_s = offline_after_s
        self._answered_at = time.monotonic()  # when the last valid reply was in (or we began)
        self.reopen_backoff = Backoff(backoff_s, max(backoff_max_s, backoff_s), jitter)
        # Confirming a change faster than the grid only where that is sooner.
        self.confirm_s = confirm_s
        self.confirm_reads = confirm_reads if 0 < confirm_s < self.period else 0
        self._last: dict[int, ChannelReading] | None = None
        self._confirming = 0  # quick reads still to come
        self._in_run = False  # the read under way is one of them
        self._stop_event = threading.Event()
        self._misses = 0
        self._is_online = True
        self._failed_reopens = 0  # since the board went offline or was last connected
        self._reopen_at = 0.0
        self._is_connected = True
        self.last_error: str | None = None

    @property
    def is_online(self) -> bool:
        return self._is_online

    def stop(self, timeout: float = 5.0) -> None:
        """Stop polling and wait for the thread (unless called from a callback)."""
        self._stop_event.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)

    def run(self) -> None:
        tick = self._answered_at = time.monotonic()  # the grid's next tick
        quick = False  # the next read is a confirming one, between ticks
        while not self._stop_event.is_set():
            missed = False
            if self._is_online:
                missed = not self._poll(quick)
            else:
                self._poll_offline()
            now = time.monotonic()
            if now >= tick:
                tick = next_deadline(tick, self.period, now)
            wake, quick = tick, False
            if missed and self._is_online and self._misses < self.offline_after:
                # Asked again at once: a lost reply costs no period, and a dead board has
                # its offline_after misses in as many budgets, not periods.
                self._confirming = 0
                wake = now + _RETRY_GAP_S
            elif self._confirming and now + self.confirm_s + self.budget_s <= tick:
                # A quick read only where it ends (its budget spent) before the next
                # tick: it never holds the bus when the grid's poll is due.
                self._confirming -= 1
                wake, quick = now + self.confirm_s, True
            else:
                self._confirming = 0
                self._in_run = False
            self._stop_event.wait(max(0.0, wake - now))

    def _poll(self, quick: bool = False) -> bool:
        """One read; False if it failed and counted as a missed poll."""
        t = time.monotonic()
        try:
            readings = self.link.read(self.board, self.budget_s)
        except Exception as exc:
            if quick:
                self._confirming = 0  # the grid's next poll decides
                return True
            self._miss(exc)
            self._deliver(None, t)
            return False
        self._misses = 0
        self._answered_at = time.monotonic()  # when the valid reply was in
        self._deliver(readings, t)
        return True

    def _miss(self, exc: Exception) -> None:
        # An unlock the board did not answer just before was a missed exchange too.
        self._misses += 2 if isinstance(exc, SilentAfterUnlock) else 1
        self.last_error = str(exc)
        self._is_connected = not isinstance(exc, NotConnected)
        log.debug("%s: read %d failed: %s", self.name, self._misses, exc)
        silent_s = time.monotonic() - self._answered_at
        if self._misses >= self.offline_after and silent_s >= self.offline_after_s:
            self._is_online = False
            self._failed_reopens = 0
            self._schedule_reopen()
            log.warning("board %r offline after %d failed reads: %s", self.board, self._misses, exc)
            self._notify_health(False, self.last_error)

    def _poll_offline(self) -> None:
        """One poll of an offline board: a read, or a reopen when it is not connected."""
        if not self._is_connected and (time.monotonic() < self._reopen_at or not self._reopen()):
            return
        t = time.monotonic()
        try:
            readings = self.link.read(self.board, self.budget_s)
        except Exception as exc:
            self.last_error = str(exc)
            if isinstance(exc, NotConnected) and self._is_connected:
                self._is_connected = False
                self._schedule_reopen()
            return
        self._is_online = True
        self._misses = 0
        self._answered_at = time.monotonic()
        self._failed_reopens = 0
        self.last_error = None
        log.info("board %r back online", self.board)
        self._notify_health(True, None)
        self._deliver(readings, t)

    def _reopen(self) -> bool:
        """Close and open the board again; on failure, schedule the next try later."""
        try:
            self.link.reopen(self.board)
        except Exception as exc:
            self.last_error = str(exc)
            self._failed_reopens += 1
            wait = self._schedule_reopen()
            log.debug("%s: reopen failed (next in %.1f s): %s", self.name, wait, exc)
            return False
        self._is_connected = True
        self._failed_reopens = 0
        return True

    def _schedule_reopen(self) -> float:
        """The next reopen after the back-off's wait for the reopens failed so far."""
        wait = self.reopen_backoff.wait(self._failed_reopens + 1)
        self._reopen_at = time.monotonic() + wait
        return wait

    def _deliver(self, readings: dict[int, ChannelReading] | None, t: float) -> None:
        if readings is not None:
            if self._last is not None and readings != self._last and not self._in_run:
                self._confirming = self.confirm_reads
                self._in_run = self.confirm_reads > 0
            self._last = readings
        try:
            self.on_sample(self.board, readings, t)
        except Exception:
            log.exception("%s: on_sample failed", self.name)

    def _notify_health(self, online: bool, error: str | None) -> None:
        try:
            self.on_health(self.board, online, error)
        except Exception:
            log.exception("%s: on_health failed", self.name)
