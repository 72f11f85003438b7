"""Config files for the config tests: drivers that only declare their options, and a small
valid ``kiosk.toml`` to add to.

The ``fake_drivers`` fixture (``tests/unit/conftest.py``) puts these drivers in the
registry as ``fake``, ``pinned`` and, where ``drivers.sim`` cannot be imported, ``sim``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from drivers.base import BoardSpec, ChannelReading, Driver
from drivers.errors import DriverError
from kiosk.config import ConfigError, load_config


class FakeDriver(Driver):
    """A driver that does nothing; only its OPTIONS matter here."""

    OPTIONS: ClassVar[dict[str, tuple[type, object]]] = {
        "port": (str, "/dev/ttyUSB0"),
        "baud": (int, 19200),
        "reply_timeout_s": (float, 0.2),
        "crc": (bool, True),
    }

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def all_off(self) -> None:
        pass

    def pulse(self, lock: int, seconds: float) -> None:
        pass

    def read(self) -> dict[int, ChannelReading]:
        return {}


class FakeSimDriver(FakeDriver):
    """Stands in for drivers.sim until (or where) it is not importable."""

    OPTIONS: ClassVar[dict[str, tuple[type, object]]] = {
        "person": (str, "auto"),
        "open_delay_s": (float, 0.0),
        "close_delay_s": (float, 2.0),
        "state_file": (str, ""),
        "control_socket": (str, ""),
        "fire_log": (str, ""),
    }


class PinnedDriver(FakeDriver):
    """Claims GPIO pins as the gpio driver does, and refuses a pin listed twice."""

    OPTIONS: ClassVar[dict[str, tuple[type, object]]] = {"pins": (list[int], ())}

    def __init__(self, spec: BoardSpec) -> None:
        super().__init__(spec)
        self.pins = list(spec.options["pins"])
        if len(set(self.pins)) != len(self.pins):
            raise DriverError(spec.name, "a pin is listed twice")

    @property
    def gpio_pins(self) -> dict[int, str]:
        return {pin: f"pins[{i}]" for i, pin in enumerate(self.pins)}


BOARDS_AND_COMPARTMENTS = """
[[boards]]
name = "top"
driver = "fake"

[[compartments]]
id = "A01"
size = "S"
board = "top"
lock = 1

[[compartments]]
id = "A02"
size = "M"
board = "top"
lock = 2
"""


def write_config(
    tmp_path: Path, extra: str = "", *, kiosk: str = 'id = "T-1"', name: str = "kiosk.toml"
) -> Path:
    """A valid small config; ``extra`` is appended (more tables), ``kiosk`` is [kiosk]'s body."""
    path = tmp_path / name
    path.write_text(f"[kiosk]\n{kiosk}\n{BOARDS_AND_COMPARTMENTS}\n{extra}\n", encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value.problems
