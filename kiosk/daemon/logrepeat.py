"""Repeated log lines written once, with a count: a flood cannot fill the journal.

:class:`RepeatCollapser` stands in front of the handler that writes (``target``). A
warning or error passes the first time; the same record again (same logger, level,
message and exception type) within ``window_s`` is only counted. When the window
ends, one line says how many were held back::

    WARNING kiosk.api.listeners.listener: API socket: refused a connection: all 64 ...
    WARNING kiosk.api.listeners.listener: repeated 1,035 more times in 60 s: API socket: ...

A repeat's traceback is never formatted, so a loop of failures costs a counter, not a
traceback each. Lines below WARNING pass untouched: they are the daemon's account of
what it did, and a person reads each. Nothing is special-cased: any message that
repeats word for word is collapsed, so a message that should collapse keeps what
varies per connection (a port, a time) out of its text.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RepeatCollapser", "install"]

#: keys remembered at most; the oldest window is closed (and its count told) past this
MAX_KEYS = 256

Key = tuple[str, int, str, str]


@dataclass
class _Run:
    record: logging.LogRecord  # the first of the run, the one written
    opened: float
    held: int = 0


class RepeatCollapser(logging.Handler):
    """Writes to ``target``, each run of repeats as its first line and a count."""

    def __init__(
        self,
        target: logging.Handler,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.target = target
        self.window_s = window_s
        self._clock = clock
        self._runs: dict[Key, _Run] = {}
        self._timer: threading.Timer | None = None

    def setFormatter(self, fmt: logging.Formatter | None) -> None:
        super().setFormatter(fmt)
        self.target.setFormatter(fmt)

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno < logging.WARNING:
            self.target.handle(record)
            return
        try:
            due = self._take(record)
        except Exception:
            self.handleError(record)
            return
        for line in due:
            self.target.handle(line)

    def _take(self, record: logging.LogRecord) -> list[logging.LogRecord]:
        """What to write now: summaries of runs that ended, and ``record`` unless it
        repeats one still open (then it is counted)."""
        now = self._clock()
        due = self._close_windows(now)
        key = _key(record)
        run = self._runs.get(key)
        if run is None:
            self._runs[key] = _Run(record, now)
            due += self._evict()
            due.append(record)
        else:
            run.held += 1
            self._schedule(run.opened + self.window_s - now)
        return due

    def flush(self) -> None:
        """Tell every count held back now (at exit, and for tests)."""
        with self._locked():
            due = self._close_windows(None)
        for line in due:
            self.target.handle(line)
        self.target.flush()

    def close(self) -> None:
        self.flush()
        if self._timer is not None:
            self._timer.cancel()
        self.target.close()
        super().close()

    # -- windows ------------------------------------------------------------------------

    def _close_windows(self, now: float | None) -> list[logging.LogRecord]:
        """The summaries of the runs whose window ended (all with ``now`` None)."""
        due = []
        for key, run in list(self._runs.items()):
            if now is None or now - run.opened >= self.window_s:
                del self._runs[key]
                if run.held:
                    due.append(self._summary(run))
        return due

    def _evict(self) -> list[logging.LogRecord]:
        due = []
        while len(self._runs) > MAX_KEYS:
            key = next(iter(self._runs))
            run = self._runs.pop(key)
            if run.held:
                due.append(self._summary(run))
        return due

    def _summary(self, run: _Run) -> logging.LogRecord:
        first = run.record
        seconds = max(1, round(min(self._clock() - run.opened, self.window_s)))
        return logging.LogRecord(
            first.name, first.levelno, first.pathname, first.lineno,
            "repeated %s in %d s: %s",
            (_times(run.held), seconds, _first_line(first)), None,
        )  # fmt: skip

    def _schedule(self, delay: float) -> None:
        # A flood that stops must still have its count told, even if nothing is
        # logged afterwards: a timer closes the window.
        if self._timer is not None and self._timer.is_alive():
            return
        self._timer = threading.Timer(max(0.0, delay) + 0.05, self._on_timer)
        self._timer.daemon = True
        self._timer.start()

    def _on_timer(self) -> None:
        with self._locked():
            now = self._clock()
            due = self._close_windows(now)
            pending = [run.opened + self.window_s - now for run in self._runs.values() if run.held]
            self._timer = None
            if pending:
                self._schedule(min(pending))
        for line in due:
            self.target.handle(line)

    def _locked(self) -> _Lock:
        return _Lock(self)


class _Lock:
    """The handler's own lock (logging's ``acquire``/``release``) as a ``with``."""

    def __init__(self, handler: logging.Handler) -> None:
        self.handler = handler

    def __enter__(self) -> None:
        self.handler.acquire()

    def __exit__(self, *exc: object) -> None:
        self.handler.release()


def _key(record: logging.LogRecord) -> Key:
    exc = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
    return record.name, record.levelno, record.getMessage(), exc


def _times(held: int) -> str:
    return "once more" if held == 1 else f"{held:,} more times"


def _first_line(record: logging.LogRecord) -> str:
    return record.getMessage().partition("\n")[0]


def install(target: logging.Handler, level: int, fmt: str, window_s: float = 60.0) -> None:
    """The root logger writes through a :class:`RepeatCollapser` to ``target``."""
    handler = RepeatCollapser(target, window_s)
    handler.setFormatter(logging.Formatter(fmt))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
