"""The USB keyboard-wedge scanner read through evdev, with a fake ``evdev`` module: the
device is grabbed (its keys reach no other program), only key events count, Shift makes
capitals, Enter ends each scan, and the device is let go whatever happens."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import NamedTuple

import pytest

from drivers.errors import DriverError
from drivers.scanner import EvdevScanner, create_scanner

EV_SYN, EV_KEY, EV_MSC = 0, 1, 4
SHIFT, ENTER = 42, 28
KEY_A, KEY_B, KEY_1, KEY_Z = 30, 48, 2, 44


class InputEvent(NamedTuple):
    type: int
    code: int
    value: int


def press(code: int) -> list[InputEvent]:
    """A key as a scanner sends it: down, a sync report, up."""
    return [InputEvent(EV_KEY, code, 1), InputEvent(EV_SYN, 0, 0), InputEvent(EV_KEY, code, 0)]


def shifted(code: int) -> list[InputEvent]:
    return [InputEvent(EV_KEY, SHIFT, 1), *press(code), InputEvent(EV_KEY, SHIFT, 0)]


class FakeDevice:
    """Records what the scanner did with the device; reads ``events``, then ``error``."""

    def __init__(self, path: str, events: list[InputEvent], error: Exception | None) -> None:
        self.path = path
        self.calls: list[str] = []
        self.events = events
        self.error = error

    def grab(self) -> None:
        self.calls.append("grab")

    def read_loop(self) -> Iterator[InputEvent]:
        self.calls.append("read")
        yield from self.events
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self.calls.append("close")


class FakeEvdev(types.ModuleType):
    """The ``evdev`` package as the scanner uses it: devices that read ``events``."""

    def __init__(self) -> None:
        super().__init__("evdev")
        self.events: list[InputEvent] = []
        self.error: Exception | None = None
        self.opened: list[FakeDevice] = []

    def InputDevice(self, path: str) -> FakeDevice:
        self.opened.append(FakeDevice(path, self.events, self.error))
        return self.opened[-1]


@pytest.fixture
def evdev(monkeypatch: pytest.MonkeyPatch) -> FakeEvdev:
    module = FakeEvdev()
    monkeypatch.setitem(sys.modules, "evdev", module)
    return module


def scanner_reading(
    evdev: FakeEvdev, events: list[InputEvent], error: Exception | None = None
) -> list[str]:
    """The scans an evdev scanner delivers from ``events``."""
    evdev.events, evdev.error = events, error
    scans: list[str] = []
    scanner = create_scanner("evdev", "/dev/input/by-id/usb-scanner-event-kbd", scans.append)
    assert isinstance(scanner, EvdevScanner)
    scanner.read_scans()
    return scans


def test_a_scan_is_read_from_the_grabbed_device_with_capitals_and_ends_at_enter(
    evdev: FakeEvdev,
) -> None:
    # A status report (EV_MSC) carrying a letter's key code must not type that letter.
    noise = [InputEvent(EV_MSC, KEY_Z, 1), InputEvent(EV_SYN, KEY_Z, 1)]
    events = [*shifted(KEY_A), *noise, *press(KEY_B), *press(KEY_1), *press(ENTER),
              *press(KEY_Z), *shifted(KEY_Z), *press(ENTER)]  # fmt: skip
    assert scanner_reading(evdev, events) == ["Ab1", "zZ"]
    device = evdev.opened[0]
    assert device.path == "/dev/input/by-id/usb-scanner-event-kbd"
    assert device.calls == ["grab", "read", "close"]  # grabbed before the first key


def test_keys_without_enter_are_not_a_scan(evdev: FakeEvdev) -> None:
    assert scanner_reading(evdev, [*press(KEY_A), *press(KEY_B)]) == []
    assert evdev.opened[0].calls[-1] == "close"


def test_an_unplugged_scanner_is_released_and_the_error_reaches_the_retry_loop(
    evdev: FakeEvdev,
) -> None:
    with pytest.raises(OSError, match="No such device"):
        scanner_reading(evdev, [*press(KEY_A), *press(ENTER)], OSError(19, "No such device"))
    assert evdev.opened[0].calls == ["grab", "read", "close"]


def test_without_the_evdev_package_the_message_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "evdev", None)  # import evdev raises ImportError
    scanner = create_scanner("evdev", "/dev/input/event3", lambda text: None)
    with pytest.raises(DriverError, match="the evdev scanner needs: pip install evdev"):
        scanner.read_scans()


def test_a_stopped_scanner_that_was_unplugged_ends_its_thread_and_can_be_joined(
    evdev: FakeEvdev,
) -> None:
    evdev.error = OSError(19, "No such device")
    scanner = create_scanner("evdev", "/dev/input/event3", lambda text: None)
    scanner.start()
    scanner.stop()
    scanner.join(5)
    assert not scanner.is_alive()
    assert evdev.opened, "the device was tried before the stop"
