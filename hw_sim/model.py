"""A physical model of a locker bank: locks, spring-loaded doors, sensors and a person.

What a caller may rely on:

* A compartment sits behind one lock of one board. A pulse on a lock that is not jammed
  releases its latch and the spring pops the door open (after ``open_delay_s``, at once
  by default). Closing a door re-latches it.
* A simulated person per bank. In ``"auto"`` mode, after a door popped open *by a
  pulse*, the person takes the item if one is there or puts one in if the compartment
  is empty (``person_handles_items``) half-way through ``close_delay_s``, and closes the
  door ``close_delay_s`` after it opened, unless the door is marked ``leave_open``.
  Doors found open when the bank is loaded from its state file are closed the same way.
  With an errand desk (:meth:`Bank.ask_errands`) the person does not guess: at each door
  a pulse popped open they ask the desk what the door is for, wait at the open door for
  the answer (:meth:`Bank.tell_errand`: ``"put"`` an item in, ``"take"`` it out, or
  ``"none"``), do it half-way through ``close_delay_s`` (or once told, if later) and close
  the door ``close_delay_s`` after it opened (or at once after a late errand). Without
  an answer within ``errand_wait_s`` they close the door with its contents untouched.
  A forced door is never closed by the person. In ``"manual"`` mode nothing happens by
  itself: tests call :meth:`Bank.open_door` and :meth:`Bank.close_door`.
* Time comes from an injectable ``clock``. Scheduled actions run lazily whenever the
  bank is read (:meth:`Bank.sample`, :meth:`Bank.snapshot`) or on :meth:`Bank.tick`, so
  there is no background thread and a fake clock makes tests deterministic.
* With a ``state_file`` the physical state (doors, items, latches, jams, leave-open) is
  written atomically on every change and loaded at construction: a daemon killed with
  ``kill -9`` finds the doors as it left them, as real doors do. With a ``fire_log``
  every fire is appended to it, and every door opening and closing to the door log
  beside it (the bank's own history, which survives a ``kill -9`` of its process). The
  files are :mod:`hw_sim.bank_files`'s.
* Every method is thread-safe.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hw_sim.bank_files import DOOR_LOG, BankFiles
from hw_sim.compartment import Compartment

__all__ = [
    "DOOR_LOG",
    "ERRANDS",
    "PERSON_MODES",
    "Bank",
    "BoardDead",
    "UnknownBoard",
    "UnknownCompartment",
    "reset_shared_banks",
    "shared_bank",
]

log = logging.getLogger(__name__)

PERSON_MODES = ("auto", "manual")
ERRANDS = ("put", "take", "none")
"""What the simulated person does with a compartment's item when told (:meth:`Bank.tell_errand`)."""
_ERRAND_POLL_S = 0.05  # how often a waiting person looks again for the desk's answer
_COIL_HISTORY = 1000


class BoardDead(Exception):
    """The board does not answer (it was killed by fault injection)."""

    def __init__(self, board: str) -> None:
        super().__init__(f"board {board!r} is dead")
        self.board = board


class UnknownCompartment(LookupError):
    """No compartment with that id in this bank."""


class UnknownBoard(LookupError):
    """No board with that name in this bank."""


class Bank:
    """A bank of compartments with their locks, doors, item sensors and one person."""

    def __init__(
        self,
        compartments: Mapping[str, tuple[str, int]] | None = None,
        *,
        person: str = "auto",
        person_handles_items: bool = True,
        open_delay_s: float = 0.0,
        close_delay_s: float = 2.0,
        state_file: str | Path | None = None,
        fire_log: str | Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        _check_person(person)
        self._lock = threading.RLock()
        self._clock = clock
        self._person = person
        self.person_handles_items = person_handles_items
        self.open_delay_s = open_delay_s
        self.close_delay_s = close_delay_s
        self._files = BankFiles(state_file, fire_log)
        self.state_file, self.fire_log = self._files.state_file, self._files.fire_log
        self.door_log = self._files.door_log
        self._compartments: dict[str, Compartment] = {}
        self._by_lock: dict[tuple[str, int], Compartment] = {}
        self._boards: set[str] = set()
        self._dead: set[str] = set()
        self._power_ons: dict[str, int] = {}
        self._events: list[tuple[float, int, str, str, int]] = []
        # every coil's on-times, [board, lock, on, off], newest last (tests read them)
        self._coils: collections.deque[list[Any]] = collections.deque(maxlen=_COIL_HISTORY)
        self._seq = itertools.count()
        self._errand_desk: Callable[[str, int], None] | None = None
        self.errand_wait_s = 10.0
        self._saved = self._files.load()
        for cid, (board, lock) in (compartments or {}).items():
            self.add_compartment(cid, board, lock)

    # -- layout ---------------------------------------------------------------------

    def add_board(self, board: str) -> None:
        """Make ``board`` known (idempotent); :meth:`add_compartment` does it too."""
        with self._lock:
            self._boards.add(board)

    def add_compartment(self, cid: str, board: str, lock: int) -> None:
        """Put compartment ``cid`` behind ``lock`` of ``board``. Idempotent for the same
        mapping; a different mapping for a known id or lock raises ``ValueError``."""
        with self._lock:
            known = self._compartments.get(cid)
            if known is not None:
                if (known.board, known.lock) != (board, lock):
                    raise ValueError(
                        f"compartment {cid!r} is already on board {known.board!r} lock {known.lock}"
                    )
                return
            other = self._by_lock.get((board, lock))
            if other is not None:
                raise ValueError(f"lock {lock} of board {board!r} already drives {other.cid!r}")
            comp = Compartment(cid, board, lock)
            self._boards.add(board)
            self._compartments[cid] = comp
            self._by_lock[(board, lock)] = comp
            saved = self._saved.pop(cid, None)
            if saved:
                self._restore(comp, saved)

    def boards(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(sorted(self._boards))

    # -- the person -----------------------------------------------------------------

    @property
    def person(self) -> str:
        return self._person

    def set_person(self, mode: str) -> None:
        """``"auto"`` or ``"manual"``. Doors already open are not picked up by a person
        switched to auto; only doors that a later pulse opens are."""
        _check_person(mode)
        with self._lock:
            self._person = mode

    def ask_errands(self, desk: Callable[[str, int], None] | None, wait_s: float = 10.0) -> None:
        """From now on the auto person learns what each door a pulse pops open is for:
        ``desk(cid, visit)`` is called, under the bank's lock (so it must only hand the
        question over, never block), and the answer comes by :meth:`tell_errand`. The
        person waits at the open door up to ``wait_s`` for it. ``None``: back to
        ``person_handles_items``."""
        with self._lock:
            self._errand_desk = desk
            self.errand_wait_s = wait_s

    def tell_errand(self, cid: str, visit: int, errand: str) -> None:
        """The desk's answer for ``cid`` at ``visit`` (the number :meth:`ask_errands`'s
        desk was given): one of :data:`ERRANDS`. An answer for a visit that is over is
        dropped. Raises ``ValueError`` for another errand, :class:`UnknownCompartment`."""
        if errand not in ERRANDS:
            raise ValueError(f"errand must be one of {ERRANDS}, not {errand!r}")
        with self._lock:
            comp = self._get(cid)
            if comp.visit == visit and comp.attended:
                comp.errand = errand

    # -- the wire side: what a board does -------------------------------------------

    def energise(self, board: str, lock: int, seconds: float) -> None:
        """Fire ``lock`` of ``board`` for ``seconds``; the coil goes off by itself.

        Every fire is counted and appended to the fire log, even on a jammed lock. A
        coil told on again while it is still on (a board's command sent again after a
        lost answer) stays on longer instead: one energisation, one unlock, no new fire.
        Raises :class:`BoardDead` if the board is dead.
        """
        with self._lock:
            now = self._tick()
            self._check_alive(board)
            comp = self._at(board, lock)
            if now < comp.energised_until:
                self._extend(comp, now + max(0.0, seconds))
                if not comp.latched:
                    return  # already let go by this energisation
            else:
                comp.energised_until = now + max(0.0, seconds)
                self._coils.append([board, lock, now, comp.energised_until])
                comp.fires += 1
                self._log_fire(comp)
            if comp.jammed:
                return
            comp.latched = False
            if self.open_delay_s > 0:
                self._schedule(now + self.open_delay_s, comp, "pop")
            else:
                self._pop(comp, now)
            self._save()

    def _extend(self, comp: Compartment, until: float) -> None:
        comp.energised_until = max(comp.energised_until, until)
        for coil in reversed(self._coils):
            if (coil[0], coil[1]) == (comp.board, comp.lock):
                coil[3] = comp.energised_until
                return

    def all_off(self, board: str) -> None:
        """Switch every coil of ``board`` off now. Raises :class:`BoardDead`."""
        with self._lock:
            now = self._tick()
            self._check_alive(board)
            for comp in self._on_board(board):
                comp.energised_until = min(comp.energised_until, now)
            for coil in self._coils:
                if coil[0] == board:
                    coil[3] = min(coil[3], now)

    def coil_history(self, board: str) -> list[tuple[int, float, float]]:
        """``(lock, on, off)`` of every firing of ``board``'s coils, oldest first, on the
        bank's clock; ``off`` lies in the future while a coil is still on."""
        with self._lock:
            return [(lock, on, off) for b, lock, on, off in self._coils if b == board]

    def energised(self, board: str) -> set[int]:
        """The locks of ``board`` whose coil is on now."""
        with self._lock:
            now = self._clock()
            return {c.lock for c in self._on_board(board) if now < c.energised_until}

    def sensors(self, board: str) -> dict[int, bool]:
        """``{lock: door sensor reads open}`` for every lock of ``board``, dead or not: a
        separate input board reads the doors of a relay board that stopped answering."""
        with self._lock:
            now = self._tick()
            return {c.lock: c.sensor_open(now) for c in self._on_board(board)}

    def sample(self, board: str) -> dict[int, tuple[bool, bool]]:
        """``{lock: (door sensor reads open, item present)}`` for every lock of ``board``.

        Raises :class:`BoardDead` if the board is dead.
        """
        with self._lock:
            now = self._tick()
            self._check_alive(board)
            return {c.lock: (c.sensor_open(now), c.item) for c in self._on_board(board)}

    def tick(self) -> None:
        """Run the person's actions that are due by now."""
        with self._lock:
            self._tick()

    # -- faults and hands -----------------------------------------------------------

    def jam(self, cid: str) -> None:
        """From now on a pulse on this lock does nothing."""
        self._set(cid, jammed=True)

    def unjam(self, cid: str) -> None:
        self._set(cid, jammed=False)

    def leave_open(self, cid: str, value: bool = True) -> None:
        """The person never closes this door. Set back to ``False`` while the person is
        still at an open door, they close it ``close_delay_s`` later."""
        with self._lock:
            comp = self._get(cid)
            comp.leave_open = value
            if not value and comp.door_open and comp.attended and self._person == "auto":
                self._schedule(self._clock() + self.close_delay_s, comp, "close")
            self._save()

    def open_door(self, cid: str) -> None:
        """A hand opens the door (whatever holds it); the auto person does not close it."""
        with self._lock:
            comp = self._get(cid)
            comp.door_open = True
            comp.latched = False
            comp.attended = False
            self._log_door(comp)
            self._save()

    def force_open(self, cid: str) -> None:
        """The door is forced open with no pulse (tamper)."""
        with self._lock:
            self.open_door(cid)
            self._compartments[cid].forced += 1

    def close_door(self, cid: str) -> None:
        """A hand closes the door; the latch catches it."""
        with self._lock:
            self._shut(self._get(cid))

    def set_item(self, cid: str, present: bool) -> None:
        self._set(cid, item=present)

    def flap(self, cid: str, seconds: float, hz: float = 20.0) -> None:
        """The door sensor toggles ``hz`` times a second for ``seconds``; the door stays."""
        if hz <= 0 or seconds < 0:
            raise ValueError("flap needs hz > 0 and seconds >= 0")
        with self._lock:
            comp = self._get(cid)
            comp.flap_start = self._clock()
            comp.flap_until = comp.flap_start + seconds
            comp.flap_hz = hz

    def kill_board(self, board: str) -> None:
        """Every access to ``board`` raises :class:`BoardDead` until it is revived."""
        with self._lock:
            self._check_board(board)
            self._dead.add(board)

    def revive_board(self, board: str) -> None:
        """``board`` answers again: a board powered on after :meth:`kill_board`."""
        with self._lock:
            self._check_board(board)
            if board in self._dead:
                self._power_ons[board] = self._power_ons.get(board, 0) + 1
            self._dead.discard(board)

    def power_ons(self, board: str) -> int:
        """How often ``board`` was revived after a kill: its power cycles, for emulators
        whose settings take effect at the next power-on."""
        with self._lock:
            return self._power_ons.get(board, 0)

    # -- views ----------------------------------------------------------------------

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """One dict per compartment: the physical truth, for tests and a future window."""
        with self._lock:
            now = self._tick()
            return {
                cid: c.describe(now, c.board in self._dead)
                for cid, c in sorted(self._compartments.items())
            }

    def fire_counts(self) -> dict[str, int]:
        """How often each compartment's lock was fired."""
        with self._lock:
            return {cid: c.fires for cid, c in sorted(self._compartments.items())}

    # -- internals ------------------------------------------------------------------

    def _get(self, cid: str) -> Compartment:
        try:
            return self._compartments[cid]
        except KeyError:
            raise UnknownCompartment(f"unknown compartment {cid!r}") from None

    def _at(self, board: str, lock: int) -> Compartment:
        try:
            return self._by_lock[(board, lock)]
        except KeyError:
            raise UnknownCompartment(f"no compartment on board {board!r} lock {lock}") from None

    def _on_board(self, board: str) -> list[Compartment]:
        return sorted(
            (c for c in self._compartments.values() if c.board == board), key=lambda c: c.lock
        )

    def _check_board(self, board: str) -> None:
        if board not in self._boards:
            raise UnknownBoard(f"unknown board {board!r}")

    def _check_alive(self, board: str) -> None:
        self._check_board(board)
        if board in self._dead:
            raise BoardDead(board)

    def _set(self, cid: str, **values: bool) -> None:
        with self._lock:
            comp = self._get(cid)
            for name, value in values.items():
                setattr(comp, name, value)
            self._save()

    def _schedule(self, due: float, comp: Compartment, action: str) -> None:
        heapq.heappush(self._events, (due, next(self._seq), comp.cid, action, comp.visit))

    def _tick(self) -> float:
        now = self._clock()
        while self._events and self._events[0][0] <= now:
            due, _, cid, action, visit = heapq.heappop(self._events)
            self._run(self._compartments[cid], action, visit, due)
        return now

    def _run(self, comp: Compartment, action: str, visit: int, due: float) -> None:
        if action == "pop":
            self._pop(comp, due)
            return
        person_there = (
            comp.visit == visit and comp.door_open and comp.attended and self._person == "auto"
        )
        if not person_there:
            return
        if action == "handle":
            comp.item = not comp.item
            self._save()
        elif action == "errand":
            self._run_errand(comp, due)
        elif action == "close" and not comp.leave_open:
            self._shut(comp)

    def _pop(self, comp: Compartment, now: float) -> None:
        """The spring pushes an unlatched door open and the auto person steps up."""
        if comp.latched or comp.door_open:
            return
        comp.door_open = True
        self._log_door(comp)
        if self._person == "auto":
            self._attend(comp, now, handle_item=self.person_handles_items)
        self._save()

    def _attend(self, comp: Compartment, now: float, handle_item: bool) -> None:
        comp.attended = True
        if handle_item and self._errand_desk is not None:
            comp.errand, comp.errand_asked_at = None, now
            self._errand_desk(comp.cid, comp.visit)
            self._schedule(now + self.close_delay_s / 2, comp, "errand")
            return  # the close comes after the errand
        if handle_item:
            self._schedule(now + self.close_delay_s / 2, comp, "handle")
        self._schedule(now + self.close_delay_s, comp, "close")

    def _run_errand(self, comp: Compartment, due: float) -> None:
        """Do what the desk said, or wait for its word; then close the door."""
        if comp.errand is None and due < comp.errand_asked_at + self.errand_wait_s:
            self._schedule(due + _ERRAND_POLL_S, comp, "errand")
            return
        if comp.errand in ("put", "take"):
            comp.item = comp.errand == "put"
            self._save()
        # As at a door without a desk, unless the answer came late: then at once.
        closing = max(comp.errand_asked_at + self.close_delay_s, due + _ERRAND_POLL_S)
        self._schedule(closing, comp, "close")

    def _shut(self, comp: Compartment) -> None:
        if comp.door_open:
            comp.door_open = False
            self._log_door(comp)
        comp.latched = True
        comp.attended = False
        comp.errand = None
        comp.visit += 1
        self._save()

    def _restore(self, comp: Compartment, saved: Mapping[str, Any]) -> None:
        comp.restore(saved)
        if comp.door_open and self._person == "auto":
            self._attend(comp, self._clock(), handle_item=False)

    def _log_fire(self, comp: Compartment) -> None:
        self._files.log_fire(comp.board, comp.lock, comp.cid)

    def _log_door(self, comp: Compartment) -> None:
        self._files.log_door(comp.cid, comp.door_open, comp.item)

    def _save(self) -> None:
        if self._files.state_file is None:
            return
        compartments = dict(self._saved)
        compartments.update({cid: c.saved_state() for cid, c in self._compartments.items()})
        self._files.save(compartments)


def _check_person(mode: str) -> None:
    if mode not in PERSON_MODES:
        raise ValueError(f"person must be one of {PERSON_MODES}, not {mode!r}")


_SHARED: dict[str, Bank] = {}
_SHARED_LOCK = threading.Lock()


def shared_bank(
    state_file: str | Path | None = None,
    *,
    person: str = "auto",
    person_handles_items: bool = True,
    open_delay_s: float = 0.0,
    close_delay_s: float = 2.0,
    fire_log: str | Path | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Bank:
    """The process-wide bank for ``state_file`` (or ``"default"`` without one).

    The first caller's settings build the bank; later callers get the same object, so
    several simulated boards of one config share one bank of doors.
    """
    key = str(Path(state_file).resolve()) if state_file else "default"
    with _SHARED_LOCK:
        bank = _SHARED.get(key)
        if bank is None:
            bank = Bank(
                person=person,
                person_handles_items=person_handles_items,
                open_delay_s=open_delay_s,
                close_delay_s=close_delay_s,
                state_file=state_file,
                fire_log=fire_log,
                clock=clock,
            )
            _SHARED[key] = bank
        return bank


def reset_shared_banks() -> None:
    """Forget every shared bank (for tests)."""
    with _SHARED_LOCK:
        _SHARED.clear()
