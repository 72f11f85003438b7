"""The outbox dispatcher and the expiry clock: the daemon's background duties.

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

from kiosk import codes
from kiosk.config import Config
from kiosk.notices import Notices
from kiosk.notify import Backend, DeliveryError, Notification, backoff_delay, build_backend
from kiosk.store import OutboxRow, Store

log = logging.getLogger(__name__)


def backend_from_config(config: Config) -> Backend:
    n = config.notify
    if n.backend == "webhook":
        return build_backend("webhook", url=n.webhook_url, secret=n.webhook_secret)
    if n.backend == "smtp":
        return build_backend("smtp", host=n.smtp_host, port=n.smtp_port, sender=n.smtp_from,
                             starttls=n.smtp_starttls, username=n.smtp_username,
                             password=n.smtp_password)  # fmt: skip
    if n.backend == "file" and n.file_path is not None:
        # A relative inbox lives in the data dir (the demo's throwaway one).
        return build_backend("file", path=str(config.kiosk.data_dir / n.file_path))
    return build_backend("log")


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
        store.listeners.append(lambda event: self.wake.set())

    async def run(self) -> None:
        while True:
            self.wake.clear()
            await self.deliver_due()
            next_at = self.store.outbox_next_at()
            delay = 60.0 if next_at is None else max(0.05, min(60.0, next_at - self.clock()))
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
            # cancel that lands as the event is set, and the daemon's stop would hang.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self.wake.wait()

    async def deliver_due(self) -> int:
        sent = 0
        for row in self.store.outbox_due(self.clock()):
            if await self._deliver(row):
                sent += 1
        return sent

    async def _deliver(self, row: OutboxRow) -> bool:
        payload = dict(row.payload)
        nonce = payload.pop("code_nonce", None)
        if isinstance(nonce, str):
            payload["code"] = codes.derive_code(
                self.key, nonce, self.config.policy.pickup_code_digits
            )
        note = Notification(row.key, row.kind, row.channel, row.recipient, payload)
        n = self.config.notify
        try:
            await self.backend.send(note)
        except DeliveryError as exc:
            attempts = row.attempts + 1
            give_up = not exc.retryable or attempts >= n.max_attempts
            wait = exc.retry_after or backoff_delay(attempts, n.retry_initial_s, n.retry_max_s)
            self.store.outbox_retry(row.id, str(exc), self.clock() + wait, give_up)
            return False
        except Exception as exc:  # a back end bug must not stop the queue
            log.exception("notification back end failed")
            self.store.outbox_retry(row.id, f"internal error: {type(exc).__name__}",
                                    self.clock() + n.retry_max_s, False)  # fmt: skip
            return False
        self.store.outbox_delivered(row.id)
        return True


class ExpiryClock:
    """The daemon's housekeeping, at start and every ``policy.expiry_check_s``: expires
    parcels past their hold time, queues reminders, deletes notifications delivered or
    given up more than ``notify.outbox_keep_days`` ago, and scrubs removed secrets off
    the disk (:meth:`kiosk.store.Store.scrub`)."""

    def __init__(
        self,
        store: Store,
        config: Config,
        notices: Notices,
        clock: Callable[[], float] = time.time,
        period_s: float = 60.0,
        on_released: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.notices = notices
        self.clock = clock
        self.period_s = period_s
        self.on_released = on_released  # a held compartment whose hold ran out

    def tick(self) -> tuple[int, int]:
        now = self.clock()
        for cid in self.store.release_expired_holds(now):
            if self.on_released is not None:
                self.on_released(cid)
        reminded = self.store.send_due_reminders(
            now, self.config.policy.reminder_hours, self.notices.reminder
        )
        expired = self.store.expire_due(now, self.notices.expired)
        self.store.purge_outbox(now - self.config.notify.outbox_keep_days * 86400)
        self.store.scrub()
        return reminded, len(expired)

    async def run(self) -> None:
        while True:
            try:
                self.tick()
            except Exception:
                log.exception("expiry check failed")
            await asyncio.sleep(self.period_s)
