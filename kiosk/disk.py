"""The data dir's disk: an alarm before it is full, and what a full one holds back.

Every door operation is written before its lock fires, so a kiosk whose disk is full
opens no door: it says so (``GET /v1/status``, the touchscreen's out-of-service line),
keeps serving what it can read, keeps the events it could not write in memory, and
finishes all of it once there is room. :class:`DiskWatch` looks at the disk at start
and every housekeeping round::

    free space   ████████████▇▆▅▄▃▂▁ full ▁▂▃▅▆▇████████████
    state        ok          │ low  │ full │ low   │ ok
                             │      │      │       └ disk_space_ok (10 % above the mark)
                             │      │      └ room again: the events kept are written
                             │      └ disk_full alarm (a write was refused)
                             └ disk_space_low alarm (below storage.low_space_mb)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any

from kiosk.config.host import StorageSection
from kiosk.protocol.events import EventKind, Severity
from kiosk.protocol.stream import StreamKind
from kiosk.protocol.views import StorageView
from kiosk.store import Store
from kiosk.store.base import StoreFull
from kiosk.store.space import FULL_BELOW_BYTES, free_bytes, total_bytes

log = logging.getLogger(__name__)

CLEAR_ABOVE = 1.1
"""The low-space alarm clears only this far above the mark: no alarm at every round
while the free space wavers around it."""


class StorageState(StrEnum):
    OK = "ok"
    LOW = "low"  # below storage.low_space_mb: an alarm, the kiosk works on
    FULL = "full"  # a write was refused: no door opens until there is room


class DiskWatch:
    """The state of the data dir's disk, its events, and the recovery from a full one."""

    def __init__(
        self,
        store: Store,
        settings: StorageSection,
        publish: Callable[[dict[str, Any]], None] | None = None,
        free: Callable[[Path], int] = free_bytes,
    ) -> None:
        self.store = store
        self.settings = settings
        self.path = store.path.parent
        self._publish = publish
        self._free = free
        self._state: StorageState | None = None  # as last told (None: not yet looked)
        store.full_listeners.append(self._soon)

    @property
    def state(self) -> StorageState:
        return self._state_for(self._free(self.path))

    def check(self) -> StorageState:
        """Look at the disk: recover from a full one, raise or clear the alarms."""
        free = self._free(self.path)
        if self.store.is_full and free >= FULL_BELOW_BYTES:
            self._recover()
        state = self._state_for(free)
        if state is not self._state:
            self._changed(state, free)
        return state

    def _soon(self) -> None:
        """A write was just refused: say so at once (the screen goes out of service),
        not at the next round; after the use case that met it has unwound."""
        with contextlib.suppress(RuntimeError):  # no loop running: the next round tells
            asyncio.get_running_loop().call_soon(self.check)

    def view(self) -> StorageView:
        """The disk as ``GET /v1/status`` shows it."""
        free = self._free(self.path)
        return {
            "state": str(self._state_for(free)),
            "free_bytes": free,
            "total_bytes": total_bytes(self.path),
            "low_space_bytes": self.settings.low_space_bytes,
            "read_only": self.store.read_only,
            "unwritten_events": self.store.unwritten_count,
        }

    def _state_for(self, free: int) -> StorageState:
        if self.store.is_full:
            return StorageState.FULL
        mark = self.settings.low_space_bytes
        if free < mark or (self._state is StorageState.LOW and free < mark * CLEAR_ABOVE):
            return StorageState.LOW
        return StorageState.OK

    def _recover(self) -> None:
        """There is room again (or may be): writable, then what was kept, written."""
        if not self.store.reopen_writable():
            return
        try:
            if not self.store.flush_unwritten():
                self.store.try_write()
        except StoreFull:
            return  # not yet: the next round tries again

    def _changed(self, state: StorageState, free: int) -> None:
        before, self._state = self._state, state
        detail = {"free_mb": round(free / 2**20, 1), "low_space_mb": self.settings.low_space_mb}
        if state is StorageState.FULL:
            log.error("the disk holding %s is full: no door opens until there is room", self.path)
            self.store.log_event(EventKind.DISK_FULL, Severity.ALARM, None, None, **detail)
        elif state is StorageState.LOW:
            log.warning("the disk holding %s has %.1f MB free", self.path, detail["free_mb"])
            self.store.log_event(EventKind.DISK_SPACE_LOW, Severity.ALARM, None, None, **detail)
        elif before is not None:
            log.info("the disk holding %s has room again", self.path)
            self.store.log_event(EventKind.DISK_SPACE_OK, Severity.INFO, None, None, **detail)
        if self._publish is not None:
            self._publish({"type": StreamKind.STORAGE, "state": str(state)})
