"""The outbox dispatcher: how a notification leaves the outbox (the expiry clock is the
daemon's housekeeping, :mod:`kiosk.daemon.housekeeping`).

Notifications are delivered at least once: a row leaves the queue only after its back
end accepted it, and the idempotency key lets a receiver drop a repeat. A pickup code
exists only while its notification is on its way: it is derived from the row's nonce
just before sending, and the nonce is dropped once the back end accepted it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from kiosk.access import codes
from kiosk.config import Config
from kiosk.notify import Backend, DeliveryError, Notification, backend_from_options, backoff_delay
from kiosk.store import OutboxRow, Store
from kiosk.store.base import StoreError

FULL_DISK_WAIT_S = 5.0
"""How often the dispatcher looks again while the disk is full (it sends nothing then:
a notification whose sending cannot be recorded would be sent again and again)."""

log = logging.getLogger(__name__)


def backend_from_config(config: Config) -> Backend:
    """The back end ``[notify]`` names, a relative path of it in the data dir."""
    return backend_from_options(config.notify, config.kiosk.data_dir)


class Dispatcher:
    def __init__(
        self,
        config: Config,
        store: Store,
        key: bytes,
        backend: Backend,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.store = store
        self.key = key
        self.backend = backend
        self.clock = clock
        self.wake = asyncio.Event()
        # Accepted by the back end, but the disk was too full to record it: recorded
        # before anything else is sent, and never sent again.
        self._sent_unrecorded: set[int] = set()
        store.listeners.append(lambda event: self.wake.set())

    async def run(self) -> None:
        while True:
            self.wake.clear()
            try:
                await self.deliver_due()
                delay = self._next_delay()
            except StoreError as exc:
                log.warning("notifications wait: %s", exc)
                delay = FULL_DISK_WAIT_S
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
            # cancel that lands as the event is set, and the daemon's stop would hang.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self.wake.wait()

    def _next_delay(self) -> float:
        if self.store.is_full:
            return FULL_DISK_WAIT_S
        next_at = self.store.outbox_next_at()
        if next_at is None:
            return 60.0
        wait = next_at - self.clock()
        if wait > self.config.notify.retry_max_s:
            return 0.05  # planned beyond any retry delay: see Store.outbox_due
        return max(0.05, min(60.0, wait))

    async def deliver_due(self) -> int:
        if self.store.is_full:
            return 0
        self._record_sent()
        sent = 0
        due = self.store.outbox_due(self.clock(), horizon=self.config.notify.retry_max_s)
        for row in due:
            if await self._deliver(row):
                sent += 1
        return sent

    def _record_sent(self) -> None:
        for row_id in sorted(self._sent_unrecorded):
            self.store.outbox_delivered(row_id)
            self._sent_unrecorded.discard(row_id)

    async def _deliver(self, row: OutboxRow) -> bool:
        payload = dict(row.payload)
        nonce = payload.pop("code_nonce", None)
        if isinstance(nonce, str):
            payload["code"] = codes.derive_code(
                self.key, nonce, self.config.policy.pickup_code_digits
            )
        note = Notification(row.key, row.template, row.channel, row.recipient, payload)
        n = self.config.notify
        try:
            await self.backend.send(note)
        except DeliveryError as exc:
            attempts = row.attempts + 1
            give_up = not exc.retryable or attempts >= n.max_attempts
            wait = exc.retry_after or backoff_delay(attempts, n.retry_initial_s, n.retry_max_s)
            wait = min(wait, n.retry_max_s)  # a Retry-After is obeyed up to the longest delay
            self.store.outbox_retry(row.id, str(exc), self.clock() + wait, give_up)
            return False
        except Exception as exc:  # a back end bug must not stop the queue
            log.exception("notification back end failed")
            self.store.outbox_retry(row.id, f"internal error: {type(exc).__name__}",
                                    self.clock() + n.retry_max_s, False)  # fmt: skip
            return False
        try:
            self.store.outbox_delivered(row.id)
        except StoreError:
            self._sent_unrecorded.add(row.id)
            raise
        return True
