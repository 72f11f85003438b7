"""A broadcast of messages to front ends (the API's event stream).

Publishing never blocks and never fails: a subscriber that does not keep up loses its
oldest messages, not the kiosk's time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

Message = dict[str, Any]
#: what a subscriber receives when the bus closes
CLOSED: Message = {"type": "closed"}


class Bus:
    def __init__(self, queue_size: int = 500) -> None:
        self._queue_size = queue_size
        self._subscribers: set[asyncio.Queue[Message]] = set()
        self.closed = False

    def close(self) -> None:
        """End every subscription (the daemon is stopping)."""
        self.closed = True
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(CLOSED)

    def publish(self, message: Message) -> None:
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(message)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Message]]:
        queue: asyncio.Queue[Message] = asyncio.Queue(self._queue_size)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)
