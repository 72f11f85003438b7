"""A barcode scanner's thread: it reads scans, hands each to a callback, and comes back
after the device went away.

Each scanner runs one thread that hands every complete scan to ``on_scan(text)``; the
daemon passes it to its event loop, which forwards it to the touchscreen, where the
screen on show decides what the scan means (a pickup code, a parcel, a badge). A scan
is never logged: it may be a pickup code.

A scanner that goes away (unplugged) is reopened with a growing delay; errors go to the
log, never to the caller. How a scan is read is the subclass's
(:meth:`Scanner.read_scans`): :mod:`drivers.scanner.wedge` and
:mod:`drivers.scanner.serial_mode`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from drivers.retry import Backoff

__all__ = ["ScanCallback", "Scanner"]

log = logging.getLogger(__name__)

ScanCallback = Callable[[str], None]

_REOPEN = Backoff(first_s=0.5, max_s=30.0)


class Scanner(threading.Thread):
    """One scanner on its own thread; subclasses implement :meth:`read_scans`."""

    kind = "scanner"

    def __init__(self, device: str, on_scan: ScanCallback) -> None:
        super().__init__(name=f"scanner-{self.kind}", daemon=True)
        self.device = device
        self.on_scan = on_scan
        self._stopping = threading.Event()
        self.scans = 0

    def run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                self.read_scans()
                failures = 0
            except Exception as exc:  # unplugged, permission, ...: retry later
                failures += 1
                log.warning(
                    "scanner %s: %s; retrying in %.0f s", self.device, exc, _REOPEN.wait(failures)
                )
            self._stopping.wait(_REOPEN.wait(max(failures, 1)))

    def deliver(self, text: str) -> None:
        """Hand one scan, its line ending taken off, to ``on_scan``; an empty one is dropped."""
        text = text.strip("\r\n")
        if text:
            self.scans += 1
            try:
                self.on_scan(text)
            except Exception:
                log.exception("scan handler failed")

    def read_scans(self) -> None:
        """Read scans until the device goes away (raise) or :meth:`stop` is called."""
        raise NotImplementedError

    def stop(self) -> None:
        self._stopping.set()
