"""Barcode scanners: a USB keyboard-wedge scanner read with evdev, or a serial scanner.

Each scanner runs one thread that hands every complete scan to ``on_scan(text)``; the
daemon passes it to its event loop, which forwards it to the touchscreen, where the
screen on show decides what the scan means (a pickup code, a parcel, a badge). A scan
is never logged: it may be a pickup code.

``evdev``: the device (``/dev/input/by-id/...-event-kbd``) is *grabbed*, so its
keystrokes reach no other program; key codes are mapped by :class:`~drivers.keymap.KeyMapper`.
Needs the ``evdev`` package and read access to the device (the ``input`` group or a
udev rule). ``serial``: one line per scan (CR and/or LF), through pyserial.

A scanner that goes away (unplugged) is reopened with a growing delay; errors go to the
log, never to the caller.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from drivers.errors import DriverError
from drivers.keymap import KeyMapper

log = logging.getLogger(__name__)

ScanCallback = Callable[[str], None]
EV_KEY = 1


class Scanner(threading.Thread):
    kind = "scanner"

    def __init__(self, device: str, on_scan: ScanCallback) -> None:
        super().__init__(name=f"scanner-{self.kind}", daemon=True)
        self.device = device
        self.on_scan = on_scan
        self._stop = threading.Event()
        self.scans = 0

    def run(self) -> None:
        delay = 0.5
        while not self._stop.is_set():
            try:
                self.read_scans()
                delay = 0.5
            except Exception as exc:  # unplugged, permission, ...: retry later
                log.warning("scanner %s: %s; retrying in %.0f s", self.device, exc, delay)
            self._stop.wait(delay)
            delay = min(delay * 2, 30.0)

    def deliver(self, text: str) -> None:
        text = text.strip("\r\n")
        if text:
            self.scans += 1
            try:
                self.on_scan(text)
            except Exception:
                log.exception("scan handler failed")

    def read_scans(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self._stop.set()


class EvdevScanner(Scanner):
    kind = "evdev"

    def read_scans(self) -> None:
        try:
            import evdev  # type: ignore[import-not-found]
        except ImportError as exc:
            raise DriverError("scanner", "the evdev scanner needs: pip install evdev") from exc
        device: Any = evdev.InputDevice(self.device)
        device.grab()
        mapper = KeyMapper()
        try:
            for event in device.read_loop():
                if self._stop.is_set():
                    return
                if event.type == EV_KEY:
                    text = mapper.feed(event.code, event.value)
                    if text is not None:
                        self.deliver(text)
        finally:
            device.close()


class SerialScanner(Scanner):
    kind = "serial"

    def __init__(self, device: str, on_scan: ScanCallback, baud: int = 9600) -> None:
        super().__init__(device, on_scan)
        self.baud = baud

    def read_scans(self) -> None:
        try:
            import serial
        except ImportError as exc:
            raise DriverError("scanner", "the serial scanner needs: pip install pyserial") from exc
        with serial.serial_for_url(self.device, self.baud, timeout=0.5) as port:
            buffer = b""
            while not self._stop.is_set():
                buffer += port.read(256)
                while b"\n" in buffer or b"\r" in buffer:
                    cut = min(i for i in (buffer.find(b"\n"), buffer.find(b"\r")) if i >= 0)
                    line, buffer = buffer[:cut], buffer[cut + 1 :]
                    self.deliver(line.decode("latin-1"))
                buffer = buffer[-4096:]


def create_scanner(kind: str, device: str, on_scan: ScanCallback, baud: int = 9600) -> Scanner:
    if kind == "evdev":
        return EvdevScanner(device, on_scan)
    if kind == "serial":
        return SerialScanner(device, on_scan, baud)
    raise DriverError("scanner", f"unknown scanner back end {kind!r} (evdev, serial)")
