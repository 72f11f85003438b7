"""Barcode scanners: a USB keyboard-wedge scanner read with evdev
(:mod:`~drivers.scanner.wedge`, its key codes mapped back to text by
:mod:`~drivers.scanner.keymap`), or a serial-mode scanner
(:mod:`~drivers.scanner.serial_mode`); each runs on a thread of its own
(:mod:`~drivers.scanner.base`)."""

from __future__ import annotations

from drivers.errors import DriverError
from drivers.scanner.base import ScanCallback, Scanner
from drivers.scanner.serial_mode import SerialScanner
from drivers.scanner.wedge import EvdevScanner

__all__ = ["EvdevScanner", "ScanCallback", "Scanner", "SerialScanner", "create_scanner"]


def create_scanner(kind: str, device: str, on_scan: ScanCallback, baud: int = 9600) -> Scanner:
    """The scanner of back end ``kind`` (``"evdev"`` or ``"serial"``), not yet started."""
    if kind == "evdev":
        return EvdevScanner(device, on_scan)
    if kind == "serial":
        return SerialScanner(device, on_scan, baud)
    raise DriverError("scanner", f"unknown scanner back end {kind!r} (evdev, serial)")
