"""The daemon's housekeeping: expiries, holds and the clock's and disk's watches, on a timer."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from kiosk.clock import KioskClock
from kiosk.config import Config
from kiosk.disk import DiskWatch
from kiosk.fleet.channels import REPLAYABLE_S
from kiosk.notify.text import Notices
from kiosk.store import Store
from kiosk.store.base import StoreError

log = logging.getLogger(__name__)


class ExpiryClock:
    """The daemon's housekeeping, at start and every ``policy.expiry_check_s``: looks at
    the disk (:class:`~kiosk.disk.DiskWatch`) and the clock
    (:meth:`~kiosk.clock.KioskClock.check`); then, if the clock is trusted, releases
    holds that ran out, queues reminders, expires parcels past their hold time and
    forgets the network's messages that can no longer be replayed; and it deletes
    notifications delivered or given up more than ``notify.outbox_keep_days`` ago and
    scrubs removed secrets off the disk (:meth:`kiosk.store.Store.scrub`). Without a
    ``kiosk_clock`` the clock counts as trusted."""

    def __init__(
        self,
        store: Store,
        config: Config,
        notices: Notices,
        clock: Callable[[], float] = time.time,
        period_s: float = 60.0,
        on_released: Callable[[str], None] | None = None,
        kiosk_clock: KioskClock | None = None,
        disk: DiskWatch | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.notices = notices
        self.clock = clock
        self.period_s = period_s
        self.on_released = on_released  # a held compartment whose hold ran out
        self.kiosk_clock = kiosk_clock
        self.disk = disk

    @property
    def replayable_s(self) -> float:
        """How long the record of a network message is kept: while a copy of it could
        pass the envelope's time check (:data:`~kiosk.fleet.channels.REPLAYABLE_S`), by
        a wall clock that may be ``clock.max_step_s`` behind the kiosk's time without a
        jump. Only on a trusted clock: a forgotten id whose copy is taken again would
        act twice."""
        return REPLAYABLE_S + self.config.clock.max_step_s

    @property
    def may_expire(self) -> bool:
        """Deadlines act only on a trusted clock (:mod:`kiosk.clock`)."""
        return self.kiosk_clock is None or self.kiosk_clock.is_trusted

    def tick(self) -> tuple[int, int]:
        """One round of deadlines and cleaning up: (reminders queued, parcels expired)."""
        now = self.clock()
        reminded, expired = 0, 0
        if self.may_expire:
            for cid in self.store.release_expired_holds(now):
                if self.on_released is not None:
                    self.on_released(cid)
            reminded = self.store.send_due_reminders(
                now, self.config.policy.reminder_hours, self.notices.reminder
            )
            expired = len(self.store.expire_due(now, self.notices.expired))
            self.store.purge_fleet_commands(now - self.replayable_s)
        self.store.purge_outbox(now - self.config.notify.outbox_keep_days * 86400)
        self.store.scrub()
        return reminded, expired

    async def round(self) -> None:
        """The disk, the clock, then :meth:`tick`; a full disk is said once per round,
        without a traceback."""
        try:
            if self.disk is not None:
                self.disk.check()
            if self.kiosk_clock is not None:
                await self.kiosk_clock.check()
            if not self.store.is_full:  # every step of it writes; the disk watch said why
                self.tick()
        except StoreError as exc:
            log.warning("housekeeping waits: %s", exc)
        except Exception:
            log.exception("expiry check failed")

    async def run(self) -> None:
        while True:
            await self.round()
            await asyncio.sleep(self.period_s)
