"""A USB barcode scanner in keyboard mode ("keyboard wedge"), read with evdev.

The device (``/dev/input/by-id/...-event-kbd``) is *grabbed*, so its keystrokes reach
no other program; key codes are mapped back to text by
:class:`~drivers.scanner.keymap.KeyMapper`. Needs the ``evdev`` package (loaded when the
scanner first reads, so a kiosk without one runs without it) and read access to the
device (the ``input`` group or a udev rule).
"""

from __future__ import annotations

from typing import Any

from drivers.errors import DriverError
from drivers.scanner.base import Scanner
from drivers.scanner.keymap import KeyMapper

__all__ = ["EV_KEY", "EvdevScanner"]

EV_KEY = 1


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
                if self._stopping.is_set():
                    return
                if event.type == EV_KEY:
                    text = mapper.feed(event.code, event.value)
                    if text is not None:
                        self.deliver(text)
        finally:
            device.close()
