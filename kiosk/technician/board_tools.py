r"""The technician's board tools: discover the compartment map (the buses' tools, scans
and the wire trace, are :mod:`kiosk.technician.bus_tools`).

:meth:`BoardTools.start_discover` is a job like the self-test: it fires each channel of
each board in turn, one at a time through the safety layer, watches the board's raw
door sensors, and reports which door opened, on channels the config does not list
too. ``lockerctl discover`` turns the results into a proposed ``[[compartments]]`` map.

Discovery, for channel ``c`` of board ``b``::

    read every sensor of b (raw) ──► c's door already open? ──yes──► not fired
        │ no
        ▼
    event discover_fire (committed) ──► fire c (safety layer, any channel)
        ▼
    raw reads at poll_hz for up to open_timeout_s: which sensors went CLOSED -> OPEN
    (debounce_polls reads in a row)? ──none──► "nothing seen"
        │ one or more
        ▼
    wait (up to left_open_after_s) until they read CLOSED again ──► next channel

**Why a discovery fire is journaled as an event, not as a door operation.** The intent
journal (``door_ops``) is there so that a fire with a parcel's fate behind it survives
a crash: each row names a compartment (a foreign key that is never null), moves
through ``UNLOCK_SENT -> OPENED -> CLOSED``, finishes a deposit or a pickup, and is
adopted and reconciled at the next start. A discovery fire fits none of that. Its
channel may have no compartment (finding those is the point), or the config may put
the wrong compartment on it, and the door loop would then fire again, record
``OPEN_NOT_DETECTED`` and take a sound compartment out of service. Its outcome changes
no compartment and no parcel, so after a crash there is nothing to reconcile: discovery
is not resumed and nothing fires again by itself. What the journal gives the audit, a
record committed before the lock fires, discovery keeps: every fire is first written as
a ``discover_fire`` event (board, channel, the configured compartment if there is one,
the technician, the job) in the hash-chained event log, in a transaction of its own.

Rules: technicians only (the API checks the session); refused while a door operation
is live or another job runs; a door operation that starts meanwhile (a customer's
pickup, say) ends the discovery, since its door would be taken for the channel's. While
a channel of a board is tried, that board's configured doors opening are expected
(:attr:`kiosk.core.Kiosk.expected_open`), not forced-open alarms.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from drivers.base import BoardSpec, ChannelReading, DoorState
from drivers.errors import DriverError
from kiosk.access.sessions import Session
from kiosk.config import CompartmentConfig
from kiosk.core import Kiosk
from kiosk.errors import ConflictError, NotFound
from kiosk.protocol.events import EventKind, JobKind, Severity
from kiosk.protocol.stream import StreamKind
from kiosk.technician import Job, Technician

__all__ = ["BoardTools", "Step", "bus_members"]

log = logging.getLogger(__name__)

Readings = dict[int, ChannelReading]
_SETTLE_S = 0.5  # beyond the debounce: for the kiosk's own view to see a door shut again


@dataclass(frozen=True)
class Step:
    """One channel to try: the compartment the config puts on it, if any, and its label
    (the configured id, or ``<board>-<lock>`` for a channel the config leaves out)."""

    board: str
    lock: int
    compartment: CompartmentConfig | None
    label: str


def bus_members(specs: Iterable[BoardSpec], board: BoardSpec) -> dict[int, tuple[str, str]]:
    """``{address: (board name, role)}`` of the configured boards on ``board``'s bus.

    Boards share a bus when they have the same driver and the same port. ``role`` is
    ``"board"``, or ``"door inputs"`` for a Modbus relay board's separate input board.
    """
    members: dict[int, tuple[str, str]] = {}
    for spec in specs:
        if spec.driver != board.driver or _port(spec) != _port(board):
            continue
        members[int(spec.options.get("address", 0))] = (spec.name, "board")
        inputs = int(spec.options.get("input_address", 0) or 0)
        if spec.driver == "modbus" and inputs:
            members.setdefault(inputs, (spec.name, "door inputs"))
    return members


def _port(spec: BoardSpec) -> str:
    port = spec.resolve_port(str(spec.options.get("port", "")))
    return port if "://" in port else os.path.realpath(port)


class BoardTools:
    """Scan-bus and discovery for the daemon's API; jobs live in the :class:`Technician`."""

    def __init__(self, kiosk: Kiosk, tech: Technician) -> None:
        self.kiosk = kiosk
        self.tech = tech
        self._specs = {spec.name: spec for spec in kiosk.config.board_specs()}
        self._at = {(c.board, c.lock): c for c in kiosk.config.compartments}
        self._new_ids: Iterator[str] = iter(())

    def _spec(self, board: str) -> BoardSpec:
        try:
            return self._specs[board]
        except KeyError:
            raise NotFound(f"no board {board!r} in the config") from None

    # -- discover -------------------------------------------------------------------

    def start_discover(self, session: Session, boards: Sequence[str] | None = None) -> Job:
        """Start the discovery job over ``boards`` (default: every board of the config)."""
        names = list(dict.fromkeys(boards or [b.name for b in self.kiosk.config.boards]))
        for name in names:
            self._spec(name)
        if any(job.state == "running" for job in self.tech.jobs.values()):
            raise ConflictError(
                "Another technician job is still running: wait for it to end.", "busy"
            )
        busy = self._live_doors()
        if busy:
            raise ConflictError(
                f"Door operations are in progress ({busy}): discovery starts only when "
                "every door operation has ended.",
                "busy",
            )
        steps = self._plan(names)
        taken = {c.id for c in self.kiosk.config.compartments}
        self._new_ids = (f"NEW{n:02d}" for n in itertools.count(1) if f"NEW{n:02d}" not in taken)
        return self.tech.start_job(
            JobKind.DISCOVER, [s.label for s in steps], self._run(session, steps)
        )

    def _live_doors(self) -> str:
        return ", ".join(live.compartment for live in self.kiosk.live_ops())

    def _plan(self, boards: Sequence[str]) -> list[Step]:
        """Every channel of ``boards``, in order."""
        steps = []
        for board in boards:
            count = self.kiosk.hw.safety.driver(board).channel_count
            for lock in range(1, count + 1):
                known = self._at.get((board, lock))
                steps.append(Step(board, lock, known, known.id if known else f"{board}-{lock}"))
        return steps

    def _run(self, session: Session, steps: list[Step]) -> Callable[[Job], Awaitable[None]]:
        async def run(job: Job) -> None:
            for index, step in enumerate(steps):
                busy = self._live_doors()
                if busy:
                    why = f"not tried: a door operation started ({busy}); discovery stopped"
                    for rest in steps[index:]:
                        self._record(job, _result(rest, False, why, "not_fired"))
                    return
                try:
                    result = await self._try(job, session, step)
                except Exception as exc:  # one channel's trouble must not stop the rest
                    log.exception("discover: %s lock %d failed", step.board, step.lock)
                    result = _result(step, False, f"not tried to the end: {exc}", "not_fired")
                self._record(job, result)

        return run

    def _record(self, job: Job, result: dict[str, Any]) -> None:
        job.results.append(result)
        job.changed.set()
        progress = {"id": job.id, "kind": job.kind, "done": len(job.results), "total": job.total}
        self.kiosk.bus.publish({"type": StreamKind.JOB, **progress, **result})

    async def _try(self, job: Job, session: Session, step: Step) -> dict[str, Any]:
        if not self.kiosk.hw.is_board_online(step.board):
            return _result(step, False, "not fired: board offline", "not_fired")
        try:
            before = await self._read(step.board)
        except DriverError as exc:
            return _result(step, False, f"not fired: {exc.reason}", "not_fired")
        own = before.get(step.lock)
        if _is_open(own):
            why = "not fired: its door is already open (close it and discover again)"
            return _result(step, False, why, "not_fired")
        if own is not None and own.door is DoorState.UNKNOWN:
            why = "not fired: the board cannot sense this door (its sensor reads UNKNOWN)"
            return _result(step, False, why, "not_fired")
        quiet = {c.id for c in self.kiosk.config.compartments if c.board == step.board}
        self.kiosk.expected_open |= quiet
        try:
            result = await self._fire_and_watch(job, session, step, before)
            await self._settle(quiet)
            return result
        finally:
            self.kiosk.expected_open -= quiet

    async def _fire_and_watch(
        self, job: Job, session: Session, step: Step, before: Readings
    ) -> dict[str, Any]:
        k = self.kiosk
        cid = step.compartment.id if step.compartment else None
        where = {"board": step.board, "channel": step.lock}
        # On the disk before the lock fires, as a door operation's intent would be.
        k.store.log_event_or_refuse(
            EventKind.DISCOVER_FIRE, Severity.INFO, session.user, cid, **where, job=job.id
        )
        fire = k.hw.safety.unlock(step.board, step.lock, any_channel=True)
        fired = await asyncio.wrap_future(fire)
        if not fired.ok:
            return _result(step, False, f"fire failed: {fired.error}", "not_fired")

        def went_open(now: Readings) -> list[int]:
            return [ch for ch, r in now.items() if _is_closed(before.get(ch)) and _is_open(r)]

        opened, error = await self._watch(step.board, went_open, k.config.doors.open_timeout_s)
        if not opened:
            return self._nothing_seen(step, before, error)

        def shut(now: Readings) -> list[int]:
            return opened if all(_is_closed(now.get(ch)) for ch in opened) else []

        closed, _ = await self._watch(step.board, shut, k.config.doors.left_open_after_s)
        return self._verdict(step, opened, bool(closed))

    async def _read(self, board: str) -> Readings:
        return await asyncio.to_thread(self.kiosk.hw.safety.read_all, board)

    async def _watch(
        self, board: str, changed: Callable[[Readings], list[int]], timeout: float
    ) -> tuple[list[int], str | None]:
        """Raw reads at the poll rate until ``changed`` names the same channels in
        ``debounce_polls`` reads in a row: those channels, or ``[]`` after ``timeout``
        (with the last read error if no read succeeded)."""
        doors = self.kiosk.config.doors
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        streak: dict[int, int] = {}
        error: str | None = None
        heard = False
        while loop.time() < deadline:
            await asyncio.sleep(1 / doors.poll_hz)
            try:
                now = await self._read(board)
            except DriverError as exc:
                error = exc.reason
                continue
            heard = True
            hits = set(changed(now))
            streak = {ch: streak.get(ch, 0) + 1 for ch in hits}
            confirmed = sorted(ch for ch, n in streak.items() if n >= doors.debounce_polls)
            if confirmed:
                return confirmed, None
        return [], None if heard else error

    async def _settle(self, quiet: set[str]) -> None:
        """Give the kiosk's debounced view time to see the board's doors shut again."""
        doors = self.kiosk.config.doors
        wait = doors.debounce_polls / doors.poll_hz + doors.debounce_ms / 1000 + _SETTLE_S
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while loop.time() < deadline:
            if all(self.kiosk.hw.door(cid) is not DoorState.OPEN for cid in quiet):
                return
            await asyncio.sleep(0.05)

    # -- verdicts -------------------------------------------------------------------

    def _nothing_seen(self, step: Step, before: Readings, error: str | None) -> dict[str, Any]:
        if error is not None:
            detail = f"fired, then the board could not be read: {error}"
            return _result(step, False, detail, "not_fired")
        detail = "nothing seen"
        blind = [ch for ch, r in sorted(before.items()) if _is_open(r)]
        if blind:
            detail += f" (doors already open on channels {_channels(blind)} could not be watched)"
        if step.compartment is None:
            return _result(step, True, detail, "nothing")
        detail += f": compartment {step.compartment.id} is configured on this lock"
        return _result(step, False, detail, "nothing")

    def _verdict(self, step: Step, opened: list[int], closed: bool) -> dict[str, Any]:
        left_open_s = self.kiosk.config.doors.left_open_after_s
        late = "" if closed else f"; the door was not closed within {left_open_s:.0f} s"
        if opened == [step.lock]:
            if step.compartment is not None:
                return _result(
                    step, True, f"door {step.compartment.id} opened{late}", "door", opened
                )
            # A placeholder id, numbered in the order new doors are found: a person names it.
            new_id = next(self._new_ids)
            detail = f"a door opened: not in the config (proposed {new_id}){late}"
            return _result(step, True, detail, "door", opened, new_id)
        where = ", ".join(self._channel_text(step.board, ch) for ch in opened)
        if len(opened) == 1:
            detail = f"opened the door sensed on {where}: lock and sensor on different channels"
        else:
            detail = f"opened several doors at once ({where})"
        return _result(step, False, detail + late, "mismatch", opened)

    def _channel_text(self, board: str, channel: int) -> str:
        known = self._at.get((board, channel))
        return f"channel {channel}" + (f" ({known.id})" if known else "")


def _result(
    step: Step,
    ok: bool,
    detail: str,
    outcome: str,
    seen: Sequence[int] = (),
    new_id: str | None = None,
) -> dict[str, Any]:
    """One job result. ``compartment``: the configured id, the id proposed for a new
    compartment (``NEW01``...), or ``<board>-<lock>`` for a channel where none was found.
    ``outcome``: ``door`` (its own door opened), ``nothing``, ``mismatch`` (another
    channel's sensor changed, or several did) or ``not_fired``; ``seen``: the channels
    whose sensors went open."""
    c = step.compartment
    return {
        "compartment": new_id or step.label,
        "ok": ok,
        "detail": detail,
        "board": step.board,
        "lock": step.lock,
        "configured": c is not None,
        "size": c.size if c else None,
        "accessible": c.accessible if c else False,
        "outcome": outcome,
        "seen": list(seen),
    }


def _is_open(reading: ChannelReading | None) -> bool:
    return reading is not None and reading.door is DoorState.OPEN


def _is_closed(reading: ChannelReading | None) -> bool:
    return reading is not None and reading.door is DoorState.CLOSED


def _channels(channels: Sequence[int]) -> str:
    return ", ".join(str(ch) for ch in channels)
