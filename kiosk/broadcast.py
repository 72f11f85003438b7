"""A broadcast of messages to front ends (the API's event stream).

Publishing never blocks and never fails: a subscriber that does not keep up loses its
oldest messages, not the kiosk's time.

A scan from the kiosk's own barcode scanner may be a pickup code, so it is not broadcast:
:meth:`Bus.publish_scan` reaches only the subscriptions made with ``scans=True`` (the
touchscreen's, on the Unix socket), never an ordinary stream reader.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from kiosk.protocol.stream import StreamKind

Message = dict[str, Any]
#: what a subscriber receives when the bus closes
CLOSED: Message = {"type": StreamKind.CLOSED}


class Bus:
    def __init__(self, queue_size: int = 500) -> None:
        self._queue_size = queue_size
        self._subscribers: set[asyncio.Queue[Message]] = set()
        self._scan_readers: set[asyncio.Queue[Message]] = set()
        self.closed = False

    def close(self) -> None:
        """End every subscription (the daemon is stopping)."""
        self.closed = True
        for queue in self._subscribers:
            _put(queue, CLOSED)

    def publish(self, message: Message) -> None:
        for queue in self._subscribers:
            _put(queue, message)

    def publish_scan(self, text: str) -> None:
        """A scan, to the subscriptions that asked for scans only."""
        for queue in self._scan_readers:
            _put(queue, {"type": StreamKind.SCAN, "text": text})

    @asynccontextmanager
    async def subscribe(self, scans: bool = False) -> AsyncIterator[asyncio.Queue[Message]]:
        """Every message published; with ``scans``, the scanner's scans as well."""
        queue: asyncio.Queue[Message] = asyncio.Queue(self._queue_size)
        self._subscribers.add(queue)
        if scans:
            self._scan_readers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)
            self._scan_readers.discard(queue)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)


def _put(queue: asyncio.Queue[Message], message: Message) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(message)
