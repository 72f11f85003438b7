"""The kiosk's view of its boards: debounced doors, board health, unlocks as awaitables.

Driver threads (the pollers and the safety layer's firing threads) never touch this
object's state: their callbacks are handed to the event loop with
``call_soon_threadsafe`` and everything below runs on the loop.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drivers.base import ChannelReading, DoorState, create_driver
from drivers.errors import DriverError
from drivers.poller import Poller
from drivers.safety import LockSafety, UnlockResult
from kiosk.config import Config
from kiosk.doors.debounce import Debouncer

log = logging.getLogger(__name__)

DoorListener = Callable[[str, DoorState, DoorState], None]
HealthListener = Callable[[str, bool, "str | None"], None]


@dataclass
class BoardHealth:
    online: bool = False
    error: str | None = "not polled yet"
    last_seen: float | None = None


@dataclass
class DoorView:
    state: DoorState
    item: bool | None
    debouncer: Debouncer


class Hardware:
    """Doors and locks of every board of one config."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._where: dict[str, tuple[str, int]] = {}
        self._at: dict[tuple[str, int], str] = {}
        for c in config.compartments:
            self._where[c.id] = (c.board, c.lock)
            self._at[(c.board, c.lock)] = c.id
        window = config.doors.debounce_ms / 1000
        polls = config.doors.debounce_polls
        self.doors = {
            cid: DoorView(DoorState.UNKNOWN, None, Debouncer(window, polls)) for cid in self._where
        }
        self.boards = {b.name: BoardHealth() for b in config.boards}
        self.door_listeners: list[DoorListener] = []
        self.health_listeners: list[HealthListener] = []
        self._waiters: dict[str, list[tuple[DoorState, asyncio.Future[bool]]]] = {}
        self._pulsed: dict[str, float] = {}  # when each lock last fired (inf: queued)
        self._drivers = [create_driver(spec) for spec in config.board_specs()]
        self.safety = LockSafety(
            self._drivers,
            pulse_s=config.locks.pulse_ms / 1000,
            gap_s=config.locks.gap_ms / 1000,
        )
        self._pollers: list[Poller] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- life cycle -----------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Open the boards with every output off, then start polling."""
        self._loop = loop
        self.safety.start()
        for driver in self._drivers:
            poller = Poller(
                self.safety,
                driver.name,
                hz=self.config.doors.poll_hz,
                on_sample=self._sample_from_thread,
                on_health=self._health_from_thread,
                offline_after=self.config.doors.offline_after_misses,
                offline_after_s=self.config.doors.offline_after_s,
                **confirm_reads(self.config.doors.debounce_ms, self.config.doors.debounce_polls),
            )
            poller.start()
            self._pollers.append(poller)

    def close(self) -> None:
        """Stop polling and switch every output off. Idempotent."""
        for poller in self._pollers:
            poller.stop()
        self._pollers.clear()
        self.safety.close()

    # -- thread -> loop hand-over ---------------------------------------------------

    def _sample_from_thread(
        self, board: str, readings: dict[int, ChannelReading] | None, t: float
    ) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._on_sample, board, readings, t)

    def _health_from_thread(self, board: str, online: bool, error: str | None) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._on_health, board, online, error)

    # -- on the loop ----------------------------------------------------------------

    def _on_sample(self, board: str, readings: dict[int, ChannelReading] | None, t: float) -> None:
        health = self.boards[board]
        if readings is None:
            return
        health.last_seen = time.time()
        if not health.online:
            self._on_health(board, True, None)
        for lock, reading in readings.items():
            cid = self._at.get((board, lock))
            if cid is None:
                continue
            view = self.doors[cid]
            view.item = reading.item
            stable = view.debouncer.feed(reading.door, t)
            if stable is not None:
                self._set_door(cid, stable)

    def _on_health(self, board: str, online: bool, error: str | None) -> None:
        health = self.boards[board]
        if health.online == online and health.error == error:
            return
        health.online, health.error = online, error
        if not online:
            # A board we cannot read says nothing about its doors.
            for (b, _lock), cid in self._at.items():
                if b == board:
                    self.doors[cid].debouncer.force(DoorState.UNKNOWN)
                    self._set_door(cid, DoorState.UNKNOWN)
        for listener in self.health_listeners:
            _call(listener, board, online, error)

    def _set_door(self, cid: str, state: DoorState) -> None:
        view = self.doors[cid]
        old, view.state = view.state, state
        if old == state:
            return
        waiters = self._waiters.get(cid, [])
        for want, fut in list(waiters):
            if want == state and not fut.done():
                fut.set_result(True)
        for listener in self.door_listeners:
            _call(listener, cid, old, state)

    # -- queries and actions --------------------------------------------------------

    def door(self, cid: str) -> DoorState:
        return self.doors[cid].state

    def item(self, cid: str) -> bool | None:
        return self.doors[cid].item

    def board_of(self, cid: str) -> str:
        return self._where[cid][0]

    def is_board_online(self, board: str) -> bool:
        return self.boards[board].online

    async def unlock(self, cid: str, dropped: Callable[[], bool] | None = None) -> UnlockResult:
        """Fire ``cid``'s lock through the safety layer (queued, one at a time); not at
        all if ``dropped()`` is true when its turn comes (asked on the firing thread)."""
        return await self.queue_unlock(cid, dropped)

    def queue_unlock(
        self, cid: str, dropped: Callable[[], bool] | None = None
    ) -> asyncio.Future[UnlockResult]:
        """:meth:`unlock`, queued at once (no await before the request reaches the lock
        thread); the future's result is the pulse's, and cancelling it drops the pulse
        if its turn has not come."""
        board, lock = self._where[cid]
        self._pulsed[cid] = math.inf  # queued: its pulse may come at any moment
        fired = asyncio.wrap_future(self.safety.unlock(board, lock, dropped=dropped))
        fired.add_done_callback(lambda _: self._pulsed.__setitem__(cid, time.monotonic()))
        return fired

    def pulsed_within(self, cid: str, seconds: float) -> bool:
        """Whether ``cid``'s lock is queued to fire, or fired within ``seconds``: a door
        that opens now may have been opened by the kiosk's own pulse."""
        last = self._pulsed.get(cid)
        return last is not None and time.monotonic() - last <= seconds

    async def wait_for_door(self, cid: str, state: DoorState, timeout: float | None) -> bool:
        """True once the debounced door is ``state`` (at once if it already is)."""
        if self.doors[cid].state == state:
            return True
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[bool] = loop.create_future()
        entry = (state, fut)
        self._waiters.setdefault(cid, []).append(entry)
        try:
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            return False
        finally:
            self._waiters[cid].remove(entry)

    async def settled(self, timeout: float) -> bool:
        """Wait until every board was heard from and every door of an online board has a
        debounced state, so the first request after start sees the doors as they are."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            unheard = [h for h in self.boards.values() if h.error == "not polled yet"]
            unknown = [cid for cid, view in self.doors.items()
                       if view.state is DoorState.UNKNOWN
                       and self.boards[self._where[cid][0]].online]  # fmt: skip
            if not unheard and not unknown:
                return True
            await asyncio.sleep(0.02)
        return False

    def board_status(self) -> list[dict[str, Any]]:
        stats = {d.name: d.stats() for d in self._drivers}
        return [
            {
                "name": name,
                "driver": next(b.driver for b in self.config.boards if b.name == name),
                "online": h.online,
                "error": h.error,
                "last_seen": h.last_seen,
                "stats": stats.get(name, {}),
            }
            for name, h in self.boards.items()
        ]


def _call(listener: Callable[..., None], *args: Any) -> None:
    """One bad listener must not stop the others, nor the loop."""
    try:
        listener(*args)
    except Exception:
        log.exception("door/health listener failed")


__all__ = ["BoardHealth", "DriverError", "Hardware"]


def confirm_reads(debounce_ms: float, debounce_polls: int) -> dict[str, Any]:
    """The poller's quick reads after a change: the debouncer's N - 1 further reads,
    spread over its window (at least 5 ms apart, so a bus is never flooded)."""
    if debounce_polls < 2:
        return {}
    return {
        "confirm_s": max(debounce_ms / 1000 / (debounce_polls - 1), 0.005),
        "confirm_reads": debounce_polls - 1,
    }
