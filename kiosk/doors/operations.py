"""Closed-loop door handling: an unlock pulse is not an open door.

For every door operation (a row of the intent journal, committed before the lock
fires) one task on the event loop runs this sequence::

    intent committed ──► fire ──► door OPEN within open_timeout_s? ──no──► fire again
                                        │ yes                          (open_retries)
                                        ▼                                   │ still no
                                     OPENED ──► every remind_after_s: reminder
                                        │   ──► left_open_after_s: LEFT_OPEN alarm  ▼
                                        ▼                       OPEN_NOT_DETECTED
                                     door CLOSED ──► finish (one transaction)

After a restart, :meth:`Doors.adopt` watches an unfinished operation without firing:
the lock is never fired again by itself.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from drivers.base import DoorState
from drivers.safety import UnlockResult
from kiosk.broadcast import Bus
from kiosk.config import DoorsSection
from kiosk.domain import OpStatus
from kiosk.doors.hardware import Hardware
from kiosk.protocol.events import EventKind, OpStep, Severity
from kiosk.protocol.stream import StreamKind
from kiosk.store import OpRow, Store
from kiosk.store.base import StoreError

log = logging.getLogger(__name__)

Finisher = Callable[[OpRow], None]
T = TypeVar("T")

FINISH_RETRY_S = 5.0
"""How often a journal write the disk refused is tried again."""


@dataclass
class LiveOp:
    op_id: int
    compartment: str
    opened: asyncio.Future[bool]
    done: asyncio.Future[OpStatus]
    task: asyncio.Task[None] | None = None
    fire_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # A reopen's unlock, while it waits for its turn in the lock queue: dropped when the
    # operation ends first, so a late pulse cannot pop a door that was closed for good.
    reopening: asyncio.Task[Any] | None = None
    closing: bool = False


class Doors:
    """Runs every live door operation; the service supplies how each one finishes."""

    def __init__(
        self,
        store: Store,
        hardware: Hardware,
        settings: DoorsSection,
        bus: Bus,
        on_closed: Finisher,
        on_not_opened: Finisher,
    ) -> None:
        self.store = store
        self.hw = hardware
        self.settings = settings
        self.bus = bus
        self._on_closed = on_closed
        self._on_not_opened = on_not_opened
        self.live: dict[int, LiveOp] = {}

    def live_for(self, compartment: str) -> LiveOp | None:
        return next((lv for lv in self.live.values() if lv.compartment == compartment), None)

    # -- starting -------------------------------------------------------------------

    def start(self, op: OpRow) -> LiveOp:
        """Fire and follow an operation whose intent was just committed.

        The first pulse is queued here, before the task that follows the door first
        runs: nothing else on the loop stands between the commit and the lock."""
        first = self.hw.queue_unlock(op.compartment_id)
        live = self._spawn(op, self._run_new(op, first))
        live.task.add_done_callback(lambda _: first.cancel())  # type: ignore[union-attr]
        return live

    def adopt(self, op: OpRow) -> LiveOp:
        """Follow an operation left unfinished by a previous run, without firing."""
        return self._spawn(op, self._run_adopted(op))

    def _spawn(self, op: OpRow, coro: object) -> LiveOp:
        loop = asyncio.get_running_loop()
        live = LiveOp(op.id, op.compartment_id, loop.create_future(), loop.create_future())
        self.live[op.id] = live
        live.task = loop.create_task(self._guard(live, coro), name=f"door-op-{op.id}")
        return live

    async def _guard(self, live: LiveOp, coro: object) -> None:
        try:
            await coro  # type: ignore[misc]
        except asyncio.CancelledError:
            raise  # shutting down: the journal keeps the operation for the next start
        except Exception:
            log.exception("door operation %s failed", live.op_id)
            self._resolve(live, False, OpStatus.ABANDONED)
        finally:
            self.live.pop(live.op_id, None)
            if not live.opened.done():
                live.opened.cancel()
            if not live.done.done():
                live.done.cancel()

    @staticmethod
    def _resolve(live: LiveOp, opened: bool | None, status: OpStatus | None) -> None:
        if opened is not None and not live.opened.done():
            live.opened.set_result(opened)
        if status is not None and not live.done.done():
            live.done.set_result(status)

    # -- the sequence ---------------------------------------------------------------

    async def _run_new(self, op: OpRow, first: asyncio.Future[UnlockResult]) -> None:
        live = self.live[op.id]
        if not await self._fire_and_expect_open(live, first):
            row = await self._written(op.id, lambda: self.store.op_open_not_detected(op.id))
            self._publish(row, OpStep.OPEN_NOT_DETECTED)
            self._resolve(live, False, OpStatus.OPEN_NOT_DETECTED)
            self._on_not_opened(row)
            return
        row = await self._written(op.id, lambda: self.store.op_opened(op.id))
        self._publish(row, OpStep.DOOR_OPENED)
        self._resolve(live, True, None)
        await self._watch_until_closed(live)

    async def _run_adopted(self, op: OpRow) -> None:
        live = self.live[op.id]
        cid = op.compartment_id
        # Wait for the first trustworthy reading; an unreadable door stays unfinished.
        while self.hw.door(cid) is DoorState.UNKNOWN:
            await self._wait_any_change(cid)
        if self.hw.door(cid) is DoorState.OPEN:
            if op.status is OpStatus.UNLOCK_SENT:
                op = await self._written(op.id, lambda: self.store.op_opened(op.id))
            self._resolve(live, True, None)
            await self._watch_until_closed(live)
            return
        if op.status is OpStatus.UNLOCK_SENT:
            # We cannot know whether the pulse left the board: never fire it again.
            why, item = "door found closed at start; not fired again", self.hw.item(cid)
            row = await self._written(op.id, lambda: self.store.abandon_op(op.id, why, item))
            self._publish(row, OpStep.OPERATION_ABANDONED)
            self._resolve(live, False, OpStatus.ABANDONED)
            self._on_not_opened(row)
            return
        self._resolve(live, True, None)
        await self._finish(live)

    async def _fire_and_expect_open(
        self, live: LiveOp, first: asyncio.Future[UnlockResult]
    ) -> bool:
        """``first``: the pulse of the committed intent, already queued."""
        cid = live.compartment
        for attempt in range(1 + self.settings.open_retries):
            if attempt > 0 and not self._refire_written(live.op_id):
                return False  # a pulse the journal cannot record is not sent
            async with live.fire_lock:
                result = await (first if attempt == 0 else self.hw.unlock(cid))
            if not result.ok:
                self.store.log_event(
                    EventKind.UNLOCK_FAILED,
                    Severity.WARNING,
                    None,
                    cid,
                    operation=live.op_id,
                    error=result.error,
                )
            if await self.hw.wait_for_door(cid, DoorState.OPEN, self.settings.open_timeout_s):
                return True
        return False

    async def _watch_until_closed(self, live: LiveOp) -> None:
        """Wait for the door to close: a reminder every ``remind_after_s`` until the
        ``left_open_after_s`` alarm, then wait on without further noise."""
        cid = live.compartment
        loop = asyncio.get_running_loop()
        opened_at = loop.time()
        remind_every = self.settings.remind_after_s
        reminders = 0
        left_open = False
        while True:
            elapsed = loop.time() - opened_at
            timeout: float | None = None
            if not left_open:
                next_reminder = (reminders + 1) * remind_every
                timeout = min(next_reminder, self.settings.left_open_after_s) - elapsed
            if await self.hw.wait_for_door(cid, DoorState.CLOSED, timeout):
                break
            elapsed = loop.time() - opened_at
            if elapsed >= self.settings.left_open_after_s:
                left_open = True
                left = functools.partial(self.store.op_left_open, live.op_id, elapsed)
                row = await self._written(live.op_id, left)
                self._publish(row, OpStep.DOOR_LEFT_OPEN)
            else:
                reminders += 1
                self.store.log_event(EventKind.DOOR_OPEN_REMINDER, Severity.INFO, None, cid,
                                     operation=live.op_id, reminder=reminders)  # fmt: skip
                self._publish(self.store.op(live.op_id), OpStep.DOOR_OPEN_REMINDER)
        await self._finish(live)

    async def _finish(self, live: LiveOp) -> None:
        """Finish the operation in one transaction; a reopen still queued is dropped."""
        live.closing = True
        if live.reopening is not None:
            live.reopening.cancel()
        await self._written(live.op_id, lambda: self._on_closed(self.store.op(live.op_id)))
        self._resolve(live, None, OpStatus.CLOSED)

    async def _written(self, op_id: int, write: Callable[[], T]) -> T:
        """``write()``, a step of the journal, tried again while the store cannot be
        written (a full disk): the journal still holds the operation as it was, nothing
        was half-written, and the next start would take it up all the same."""
        while True:
            try:
                return write()
            except StoreError as exc:
                log.error("door operation %s: cannot finish yet: %s; retrying in %.0f s",
                          op_id, exc, FINISH_RETRY_S)  # fmt: skip
                await asyncio.sleep(FINISH_RETRY_S)

    def _refire_written(self, op_id: int) -> bool:
        try:
            self.store.refire_op(op_id)
        except StoreError as exc:
            log.error("door operation %s: not fired again: %s", op_id, exc)
            return False
        return True

    async def _wait_any_change(self, cid: str) -> None:
        waits = [
            asyncio.ensure_future(self.hw.wait_for_door(cid, s, None))
            for s in (DoorState.OPEN, DoorState.CLOSED)
        ]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    # -- while live -----------------------------------------------------------------

    async def reopen(self, op_id: int) -> bool:
        """Fire a live operation's lock again (the intent is updated first).

        Not once the door has closed: a reopen asked for then, or still waiting for an
        earlier one to fire, is dropped (``False``) and the door stays shut."""
        live = self.live.get(op_id)
        if live is None or live.closing:
            return False
        async with live.fire_lock:
            if live.closing or self.live.get(op_id) is not live:
                return False  # the door closed while this one waited its turn
            self.store.refire_op(op_id)
            live.reopening = asyncio.ensure_future(
                self.hw.unlock(live.compartment, dropped=lambda: live.closing)
            )
            try:
                result = await live.reopening
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if live.closing and not (task is not None and task.cancelling()):
                    return False  # the door closed first: the pulse was dropped unsent
                raise
            finally:
                live.reopening = None
        if not result.ok:
            return False
        return await self.hw.wait_for_door(
            live.compartment, DoorState.OPEN, self.settings.open_timeout_s
        )

    async def park(self) -> None:
        """Stop following every operation; the journal keeps them for the next start."""
        tasks = [lv.task for lv in self.live.values() if lv.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _publish(self, row: OpRow, step: OpStep) -> None:
        self.bus.publish(
            {
                "type": StreamKind.OPERATION,
                "kind": step,
                "operation": row.id,
                "compartment": row.compartment_id,
                "purpose": str(row.purpose),
            }
        )
