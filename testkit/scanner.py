"""A serial barcode scanner on a pseudo-terminal, and a reader that follows an event
stream in a thread, for the tests of where a scan goes."""

from __future__ import annotations

import os
import pty
import threading
import time
import tty
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from kiosk.protocol.client import ClientError

Message = dict[str, Any]


class PtyScanner:
    """The daemon reads ``device``; :meth:`scan` is a barcode shown to the scanner."""

    def __init__(self, master: int, device: str) -> None:
        self.master = master
        self.device = device

    @property
    def section(self) -> dict[str, dict[str, Any]]:
        """The ``[scanner]`` table that points the daemon at this scanner."""
        return {"scanner": {"backend": "serial", "device": self.device, "baud": 9600}}

    def scan(self, text: str) -> None:
        os.write(self.master, f"{text}\r\n".encode())


@contextmanager
def pty_scanner() -> Iterator[PtyScanner]:
    master, slave = pty.openpty()
    tty.setraw(slave)
    try:
        yield PtyScanner(master, os.ttyname(slave))
    finally:
        os.close(master)
        os.close(slave)


class StreamReader:
    """Keeps every message of a stream, read in a daemon thread."""

    def __init__(self, messages: Iterable[Message]) -> None:
        self.messages: list[Message] = []
        self._messages = messages
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for message in self._messages:
                with self._changed:
                    self.messages.append(message)
                    self._changed.notify_all()
        except (httpx.HTTPError, ClientError):
            pass  # the test is over and the daemon gone: the stream ends with it

    def wait_for(
        self, predicate: Callable[[Message], bool], timeout: float = 10.0, what: str = "a message"
    ) -> Message:
        """The first message kept that ``predicate`` accepts, waiting for it if need be."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = next((m for m in self.messages if predicate(m)), None)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what}; got {self.messages}")
                self._changed.wait(left)


def is_event(kind: str) -> Callable[[Message], bool]:
    return lambda m: m.get("type") == "event" and m.get("kind") == kind


def is_scan(m: Message) -> bool:
    return m.get("type") == "scan"
