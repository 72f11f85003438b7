"""The safety layer: every lock pulse and every board read goes through here.

It sits directly on the drivers, below everything that decides, so nothing above can
forget a rule:

* every lock output is switched off first thing after a board opens and on every
  exit path (:meth:`LockSafety.close`, ``atexit``; ``locker-kiosk safe-off`` runs
  :func:`safe_off` after a crash);
* a pulse never lasts longer than :data:`MAX_PULSE_S`, whatever the config says;
* one lock fires at a time per power group, with a gap between fires, in the order
  the requests arrived;
* a board is never talked to by two threads at once (a bus scan is the driver's to
  serialise: it talks to the bus frame by frame, see :meth:`LockSafety.scan_bus`).
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from drivers.base import MAX_PULSE_S, ChannelReading, Driver
from drivers.errors import BoardOffline, DriverError, NotConnected, SilentAfterUnlock

__all__ = [
    "DEFAULT_GAP_S",
    "DEFAULT_PULSE_S",
    "MAX_PULSE_S",
    "BoardStatus",
    "LockSafety",
    "UnlockResult",
    "safe_off",
]

log = logging.getLogger(__name__)

DEFAULT_PULSE_S = 0.5
DEFAULT_GAP_S = 0.15
SHUTTING_DOWN = "shutting down"
_CLOSE_WAIT_S = MAX_PULSE_S + 3.0


@dataclass(frozen=True)
class UnlockResult:
    """What became of one unlock request.

    ``fired_at`` is the monotonic time the pulse was sent (or the request was dropped);
    ``queued_s`` how long it waited for its turn. ``ok`` means the board took the pulse,
    not that the door opened: only the door sensor can say that.
    """

    board: str
    lock: int
    ok: bool
    error: str | None
    fired_at: float
    queued_s: float


@dataclass(frozen=True)
class BoardStatus:
    """One board as the safety layer sees it, for status displays."""

    board: str
    power_group: str
    is_open: bool
    error: str | None
    stats: dict[str, Any]


@dataclass
class _Board:
    driver: Driver
    group: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    is_open: bool = False
    error: DriverError | None = None
    unlock_unanswered: bool = False  # the last pulse got no answer; no read since


@dataclass(frozen=True)
class _Request:
    board: str
    lock: int
    pulse_s: float
    future: Future[UnlockResult]
    queued_at: float
    any_channel: bool = False
    dropped: Callable[[], bool] | None = None


class LockSafety:
    r"""The drivers of one kiosk, wrapped in the safety rules.

    Each power group has one worker thread taking unlock requests first in, first out.
    A fire starts no earlier than the end of the group's previous pulse plus ``gap_s``,
    whatever driver either board has (the end as the board times it, when it holds a coil
    longer than asked: :meth:`Driver.pulse_length`; for a board-timed pulse, counted
    from when :meth:`Driver.pulse` returned, as a command sent again after a lost answer
    starts the board's timer again); groups fire independently of each other. Requests
    for A1, A2 (power group "main") and B7 (group "aux"), A2 and B7 arriving while A1's
    pulse is on::

                A1    A2  B7
                |     |   |
                v     v   v
        A1  ____/‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾\_____________________________
        A2  ______________________________/‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾\___
        B7  ______________/‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾\___________________
                |<--- pulse_s --->|<gap_s>|
                                          ^ A2 fires no earlier

    ``pulse_s`` is clamped to :data:`MAX_PULSE_S`. For a board that does not time the
    pulse itself (``board_times_pulse`` False), :meth:`Driver.all_off` follows every
    pulse as a second guard. Reads and pulses on one board share a lock, so the poller
    and the firing thread never talk to a board at once.
    """

    def __init__(
        self,
        drivers: Sequence[Driver],
        power_groups: Mapping[str, str] | None = None,
        *,
        pulse_s: float = DEFAULT_PULSE_S,
        gap_s: float = DEFAULT_GAP_S,
    ) -> None:
        if pulse_s <= 0:
            raise ValueError(f"pulse_s must be positive, not {pulse_s}")
        if gap_s < 0:
            raise ValueError(f"gap_s must not be negative, not {gap_s}")
        self.pulse_s = min(pulse_s, MAX_PULSE_S)
        self.gap_s = gap_s
        groups = power_groups or {}
        self._boards: dict[str, _Board] = {}
        for driver in drivers:
            if driver.name in self._boards:
                raise ValueError(f"board {driver.name!r} is listed twice")
            group = groups.get(driver.name, driver.spec.power_group)
            self._boards[driver.name] = _Board(driver, group)
        self._queues: dict[str, queue.SimpleQueue[_Request | None]] = {
            b.group: queue.SimpleQueue() for b in self._boards.values()
        }
        self._workers: list[threading.Thread] = []
        self._state_lock = threading.Lock()
        self._stopping = threading.Event()
        self._started = False
        self._closed = False

    # -- life cycle -----------------------------------------------------------------

    def start(self) -> None:
        """Open every board and switch its outputs off. Idempotent.

        A board that fails is recorded offline (see :meth:`status`) and the others carry
        on; the poller retries it through :meth:`reopen`.
        """
        with self._state_lock:
            if self._started or self._closed:
                return
            self._started = True
        for board in self._boards.values():
            with board.lock:
                self._open(board)
        for group, requests in self._queues.items():
            worker = threading.Thread(
                target=self._serve, args=(requests,), name=f"locks:{group}", daemon=True
            )
            worker.start()
            self._workers.append(worker)
        atexit.register(self.close)

    def close(self) -> None:
        """Stop firing, switch every output off and close every board. Idempotent.

        Requests still queued complete with ``ok=False`` and ``"shutting down"``; a pulse
        already on is let finish.
        """
        with self._state_lock:
            if self._closed:
                return
            self._closed = True
            self._stopping.set()
            for requests in self._queues.values():
                requests.put(None)
        for worker in self._workers:
            worker.join(_CLOSE_WAIT_S)
        for board in self._boards.values():
            self._shut(board)
        atexit.unregister(self.close)

    def __enter__(self) -> LockSafety:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def reopen(self, board: str) -> None:
        """Close and open one board again, outputs off. Raises :class:`DriverError`."""
        entry = self._board(board)
        with entry.lock:
            if self._closed:
                raise BoardOffline(board, SHUTTING_DOWN)
            _try(entry.driver.close, "close", board)
            error = self._open(entry)
        if error is not None:
            raise error

    # -- what the kiosk calls -------------------------------------------------------

    def unlock(
        self,
        board: str,
        lock: int,
        pulse_s: float | None = None,
        *,
        any_channel: bool = False,
        dropped: Callable[[], bool] | None = None,
    ) -> Future[UnlockResult]:
        """Queue one pulse on ``lock`` of ``board``; the future never raises.

        ``pulse_s`` overrides the configured length for this request (a motor lock in a
        self-test, say); it is clamped to :data:`MAX_PULSE_S` like any other.
        ``any_channel`` lets the pulse reach a channel the config does not wire
        (:meth:`Driver.pulse_channel`, for discovery); every rule applies all the same.
        Cancelling the future before its turn means the lock is not fired; so does
        ``dropped`` answering true at its turn (asked on the firing thread, at the last
        moment: a reopen whose door has closed meanwhile, which the caller's cancel, one
        event-loop turn late, could otherwise miss).
        """
        entry = self._board(board)
        length = self.pulse_s if pulse_s is None else pulse_s
        request = _Request(board, lock, length, Future(), time.monotonic(), any_channel,
                           dropped)  # fmt: skip
        with self._state_lock:
            if self._started and not self._closed:
                self._queues[entry.group].put(request)
                return request.future
            reason = SHUTTING_DOWN if self._closed else "safety layer not started"
        if request.future.set_running_or_notify_cancel():
            _finish(request, reason, time.monotonic())
        return request.future

    def read(self, board: str, budget_s: float | None = None) -> dict[int, ChannelReading]:
        """One raw sample of ``board``. Raises :class:`DriverError`, never guesses.

        With ``budget_s``, the driver's :meth:`~Driver.read_within`: about that long once
        the board is ours (a pulse on it is waited for first).
        """
        return self._read(board, all_channels=False, budget_s=budget_s)

    def read_all(self, board: str) -> dict[int, ChannelReading]:
        """One raw sample of every channel of ``board``, configured or not (discovery)."""
        return self._read(board, all_channels=True)

    def scan_bus(self, board: str) -> list[int]:
        """The addresses answering on ``board``'s bus (:meth:`Driver.scan_bus`).

        Not under the board's lock: a scan takes a second or two, and the driver holds
        its bus frame by frame so that polling and firing go on between its frames. It
        works on a board that opened its port but does not answer (the case a scan is
        for). Raises :class:`DriverError` (``UnsupportedError`` for a board with no bus).
        """
        driver = self._board(board).driver
        if self._closed:
            raise BoardOffline(board, SHUTTING_DOWN)
        try:
            return driver.scan_bus()
        except DriverError:
            raise
        except Exception as exc:
            raise DriverError(board, f"bus scan failed: {exc}") from exc

    def status(self) -> dict[str, BoardStatus]:
        """Every board: power group, open or not, the last open error, driver counters."""
        return {
            name: BoardStatus(
                name,
                b.group,
                b.is_open,
                str(b.error) if b.error else None,
                b.driver.stats(),
            )
            for name, b in self._boards.items()
        }

    @property
    def boards(self) -> tuple[str, ...]:
        return tuple(self._boards)

    def driver(self, board: str) -> Driver:
        return self._board(board).driver

    # -- internals ------------------------------------------------------------------

    def _board(self, board: str) -> _Board:
        try:
            return self._boards[board]
        except KeyError:
            raise DriverError(board, "no such board") from None

    def _read(
        self, board: str, all_channels: bool, budget_s: float | None = None
    ) -> dict[int, ChannelReading]:
        entry = self._board(board)
        with entry.lock:
            if not entry.is_open:
                reason = entry.error.reason if entry.error else "not open"
                raise NotConnected(board, f"not connected ({reason})")
            driver = entry.driver
            unanswered, entry.unlock_unanswered = entry.unlock_unanswered, False
            try:
                if all_channels:
                    return driver.read_all()
                return driver.read() if budget_s is None else driver.read_within(budget_s)
            except BoardOffline as exc:
                if unanswered and budget_s is not None:
                    raise SilentAfterUnlock(board, f"{exc.reason}, nor the unlock before") from exc
                raise
            except DriverError:
                raise
            except Exception as exc:
                raise DriverError(board, f"read failed: {exc}") from exc

    def _open(self, board: _Board) -> DriverError | None:
        """Open and all-off one board; the caller holds its lock."""
        name = board.driver.name
        try:
            board.driver.open()
            board.driver.all_off()
        except Exception as exc:
            error = exc if isinstance(exc, DriverError) else DriverError(name, str(exc))
            board.is_open, board.error = False, error
            log.warning("%s", error)
            return error
        board.is_open, board.error = True, None
        return None

    def _shut(self, board: _Board) -> None:
        # A reader stuck in a hung driver must not keep the outputs on: after a while,
        # switch off without the board's lock.
        locked = board.lock.acquire(timeout=_CLOSE_WAIT_S)
        try:
            name = board.driver.name
            # A board that never opened is tried too, but its failure is expected.
            if _try(board.driver.all_off, "all_off", name, quiet=not board.is_open):
                log.info("board %r: every output off", name)
            _try(board.driver.close, "close", name)
            board.is_open = False
        finally:
            if locked:
                board.lock.release()

    def _serve(self, requests: queue.SimpleQueue[_Request | None]) -> None:
        """The worker of one power group: fire requests in order, gap between them."""
        ready_at = 0.0
        while (request := requests.get()) is not None:
            wait = ready_at - time.monotonic()
            if wait > 0:
                self._stopping.wait(wait)
            # Still cancellable through the gap: a request its caller dropped meanwhile
            # (a reopen whose door closed first) is not fired.
            if request.dropped is not None and _asks(request.dropped):
                request.future.cancel()
            if not request.future.set_running_or_notify_cancel():
                continue
            if self._stopping.is_set():
                _finish(request, SHUTTING_DOWN, time.monotonic())
                continue
            ready_at = self._fire(request) + self.gap_s

    def _fire(self, request: _Request) -> float:
        """Pulse one lock; return when the pulse ends. Never raises."""
        board = self._boards[request.board]
        length = min(request.pulse_s, MAX_PULSE_S)
        with board.lock:
            fired_at = time.monotonic()
            if not board.is_open:
                _finish(request, str(BoardOffline(request.board, "not connected")), fired_at)
                return fired_at
            error = self._pulse(board, request.lock, length, request.any_channel)
            done = time.monotonic()
        _finish(request, error, fired_at)
        # A board-timed coil may have been started by the last frame pulse() sent.
        started = done if board.driver.board_times_pulse else fired_at
        return max(done, started + _coil_time(board.driver, length))

    def _pulse(self, board: _Board, lock: int, seconds: float, any_channel: bool) -> str | None:
        driver = board.driver
        try:
            if any_channel:
                driver.pulse_channel(lock, seconds)
            else:
                driver.pulse(lock, seconds)
        except DriverError as exc:
            board.unlock_unanswered = isinstance(exc, BoardOffline)
            return str(exc)
        except Exception as exc:
            log.exception("board %r: pulse on lock %d failed", driver.name, lock)
            return str(DriverError(driver.name, f"pulse failed: {exc}"))
        finally:
            if not driver.board_times_pulse:
                _try(driver.all_off, "all_off after pulse", driver.name)
        return None


def _coil_time(driver: Driver, seconds: float) -> float:
    """How long the coil is on after a pulse of ``seconds``: never less than asked, more
    when the board times it longer (:meth:`Driver.pulse_length`)."""
    try:
        return max(seconds, float(driver.pulse_length(seconds)))
    except Exception:
        log.exception("board %r: pulse_length failed", driver.name)
        return MAX_PULSE_S  # in doubt, the longest a coil may be on


def _finish(request: _Request, error: str | None, fired_at: float) -> None:
    result = UnlockResult(
        request.board,
        request.lock,
        error is None,
        error,
        fired_at,
        max(0.0, fired_at - request.queued_at),
    )
    request.future.set_result(result)


def _try(action: Callable[[], object], what: str, board: str, quiet: bool = False) -> bool:
    """Run one best-effort step of a shutdown; log and carry on if it fails."""
    try:
        action()
    except Exception as exc:
        log.log(
            logging.DEBUG if quiet else logging.WARNING, "board %r: %s failed: %s", board, what, exc
        )
        return False
    return True


def safe_off(drivers: Iterable[Driver]) -> list[str]:
    """Open each board, switch every lock output off and close it again.

    One line per board for a person to read; one board failing does not stop the
    others. Used by ``locker-kiosk safe-off`` and systemd's ``ExecStopPost``.
    """
    lines = []
    for driver in drivers:
        try:
            driver.open()
            driver.all_off()
        except Exception as exc:
            error = exc if isinstance(exc, DriverError) else DriverError(driver.name, str(exc))
            lines.append(f"board {driver.name!r}: could not reach the board: {error.reason}")
        else:
            count = len(driver.spec.channels)
            outputs = "lock output" if count == 1 else "lock outputs"
            lines.append(f"board {driver.name!r}: all {count} {outputs} off")
        finally:
            _try(driver.close, "close", driver.name)
    return lines


def _asks(dropped: Callable[[], bool]) -> bool:
    """The caller's ``dropped``; a caller's bug drops nothing (and fires as asked)."""
    try:
        return bool(dropped())
    except Exception:
        log.exception("an unlock's dropped() failed")
        return False
