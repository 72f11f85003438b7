"""The ingest loop: take what arrived, store it in one transaction, then acknowledge it.

One thread. It waits for a message, takes every other one already waiting (up to
``batch_max``), parses them (office/received.py), writes them with
:class:`~office.store.ingest.IngestStore` and, only once that transaction committed,
acknowledges them to the broker. A database that is away (a restart, a lock held too
long) is waited for, with growing pauses, and the same batch is written again: nothing
is acknowledged meanwhile, so nothing is lost, and insert-or-ignore means nothing is
stored twice. A batch the database refuses for what is in it (not for being away) is
split until the one message at fault is found; that one is recorded as refused
(``ingest_rejects``) and the rest are stored, so one bad message cannot stop the ingest.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import exc as sa_exc

from office import received as m
from office.ingest.link import Incoming
from office.store.ingest import IngestStore, Item, Written
from office.vocab import RejectReason

log = logging.getLogger("office.ingest")

RETRY_MIN_S = 0.2
RETRY_MAX_S = 5.0


@dataclass
class Counters:
    received: int = 0
    events: int = 0
    duplicates: int = 0
    rejected: int = 0
    other: int = 0
    batches: int = 0
    db_retries: int = 0
    last_commit_at: float | None = None
    db_error: str | None = None
    rejects_by_reason: dict[str, int] = field(default_factory=dict)

    def add(self, written: Written) -> None:
        self.events += written.events
        self.duplicates += written.duplicates
        self.rejected += written.rejected
        self.other += written.other


def is_transient(exc: BaseException) -> bool:
    """The database is away or busy (try again), rather than refusing what it was given."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(
        exc,
        sa_exc.OperationalError
        | sa_exc.InterfaceError
        | sa_exc.DisconnectionError
        | sa_exc.TimeoutError,
    )


class IngestWorker:
    def __init__(
        self,
        store: IngestStore,
        inbox: queue.Queue[Incoming],
        ack: Callable[[Sequence[Incoming]], int],
        batch_max: int = 1000,
    ) -> None:
        self.store = store
        self.inbox = inbox
        self.ack = ack
        self.batch_max = batch_max
        self.counters = Counters()
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, name="office-ingest", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Finish the batch in hand (committed and acknowledged), then stop."""
        self._halt.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._halt.is_set():
            batch = self._take()
            if batch and self._store(batch):
                self.ack(batch)

    def _take(self) -> list[Incoming]:
        try:
            batch = [self.inbox.get(timeout=0.2)]
        except queue.Empty:
            return []
        while len(batch) < self.batch_max:
            try:
                batch.append(self.inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def _store(self, batch: list[Incoming]) -> bool:
        """Write ``batch``; False only when stopping before the database came back."""
        items: list[Item] = [(m.parse(i.topic, i.payload), i.received_at) for i in batch]
        self.counters.received += len(batch)
        if not self._write(items):
            return False
        self.counters.batches += 1
        self.counters.last_commit_at = time.time()
        return True

    def _write(self, items: list[Item]) -> bool:
        delay = RETRY_MIN_S
        while True:
            try:
                self.counters.add(self.store.write(items))
            except Exception as exc:
                if not is_transient(exc):
                    return self._split(items, exc)
                if self.counters.db_error is None:
                    log.error(
                        "the database is not answering, waiting for it: %s",
                        str(exc).splitlines()[0],
                    )
                self.counters.db_error = str(exc).splitlines()[0][:300]
                self.counters.db_retries += 1
                if self._halt.wait(delay):
                    return False
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            if self.counters.db_error is not None:
                log.info("the database answers again")
                self.counters.db_error = None
            return True

    def _split(self, items: list[Item], exc: Exception) -> bool:
        if len(items) > 1:
            half = len(items) // 2
            return self._write(items[:half]) and self._write(items[half:])
        parsed, at = items[0]
        kiosk = getattr(parsed, "kiosk", None)
        log.error(
            "a message from %s was refused by the database: %s",
            kiosk,
            str(exc).splitlines()[0][:200],
        )
        refused = m.Rejected(
            kiosk,
            None,
            RejectReason.STORE_REFUSED,
            f"the database refused it: {type(exc.__cause__ or exc).__name__}",
            0,
            "",
        )
        return self._write([(refused, at)])
