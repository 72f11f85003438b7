r"""A backstop for host-timed pulses: outputs still on past their deadline go off.

A driver that times a lock pulse on the host (GPIO) arms the watchdog with the pulse's
deadline before switching the output on, and disarms it once the output is off. If the
output is still armed when the deadline passes (the pulse's timer thread died, or its
off failed), the watchdog's own thread calls ``switch_off(lock)``, and calls it again
after ``retry_s``, doubling to ``retry_max_s``, for as long as it reports failure::

    output   ____/‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾\______
                 ^ arm(lock, deadline)   ^ deadline     ^ watchdog: switch_off(lock)
                                         (timer missed)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from drivers.retry import Backoff

__all__ = ["OutputWatchdog"]


class OutputWatchdog:
    """One thread per board; ``switch_off(lock)`` returns False when it failed.

    ``switch_off`` runs on the watchdog's thread without any of the watchdog's locks
    held, so it may take the driver's own lock; :meth:`stop` must then be called
    without holding that lock.
    """

    def __init__(
        self,
        name: str,
        switch_off: Callable[[int], bool],
        *,
        retry_s: float = 0.1,
        retry_max_s: float = 5.0,
    ) -> None:
        self._switch_off = switch_off
        self._backoff = Backoff(retry_s, max(retry_max_s, retry_s))
        self._failures: dict[int, int] = {}
        self._deadlines: dict[int, float] = {}
        self._wake = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=f"watchdog:{name}", daemon=True)
        self._thread.start()

    def arm(self, lock: int, deadline: float) -> None:
        """Switch ``lock`` off at monotonic time ``deadline`` unless disarmed before."""
        with self._wake:
            self._deadlines[lock] = deadline
            self._wake.notify()

    def disarm(self, lock: int) -> None:
        with self._wake:
            self._deadlines.pop(lock, None)

    def stop(self, timeout: float = 1.0) -> None:
        """Stop the thread (armed outputs are left to the caller). Idempotent."""
        with self._wake:
            self._stopped = True
            self._wake.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._wake:
                if self._stopped:
                    return
                overdue = self._overdue_or_wait()
            for lock in overdue:
                if self._switch_off(lock):
                    self._failures.pop(lock, None)
                    continue
                failures = self._failures[lock] = self._failures.get(lock, 0) + 1
                self.arm(lock, time.monotonic() + self._backoff.wait(failures))

    def _overdue_or_wait(self) -> list[int]:
        """Take the overdue locks off the list; with none, sleep until the next deadline."""
        now = time.monotonic()
        overdue = [lock for lock, due in self._deadlines.items() if due <= now]
        for lock in overdue:
            del self._deadlines[lock]
        if not overdue:
            timeout = min(self._deadlines.values()) - now if self._deadlines else None
            self._wake.wait(timeout)
        return overdue
