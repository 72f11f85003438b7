"""What a GPIO board's options say is wired where, checked before any pin is touched.

Pure: no gpiozero import, so the config loader's checks and the tests of the layout
run on any machine. :class:`GpioLayout.from_spec` raises
:class:`~drivers.errors.DriverError` for anything a board cannot be built from:
a list that is not BCM pin numbers, a door or item list that does not match the
lock list, a compartment on a lock without a pin, a level other than 0 or 1, an
unknown pin factory, or a pin listed twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from drivers.base import BoardSpec
from drivers.errors import DriverError

__all__ = ["OPTIONS", "PIN_FACTORIES", "GpioLayout"]

OPTIONS: dict[str, tuple[type, object]] = {
    "lock_pins": (list[int], ()),
    "door_pins": (list[int], ()),
    "item_pins": (list[int], ()),
    "lock_active_high": (bool, True),
    "door_pull_up": (bool, True),
    "door_closed_level": (int, 0),
    "item_pull_up": (bool, True),
    "item_present_level": (int, 0),
    "pin_factory": (str, ""),
}
"""The ``[[boards]]`` keys of a ``gpio`` board: ``(type, default)``, as the config reads them."""

PIN_FACTORIES: dict[str, str] = {
    "lgpio": "gpiozero.pins.lgpio:LGPIOFactory",
    "mock": "gpiozero.pins.mock:MockFactory",
    "native": "gpiozero.pins.native:NativeFactory",
    "rpigpio": "gpiozero.pins.rpigpio:RPiGPIOFactory",
}
"""Names the ``pin_factory`` option may use, besides ``""`` (gpiozero's default)."""

_PIN_LISTS = ("lock_pins", "door_pins", "item_pins")


@dataclass(frozen=True)
class GpioLayout:
    """One board's pins (BCM numbers; index = lock - 1) and their electrical sense."""

    lock_pins: tuple[int, ...]
    door_pins: tuple[int, ...]
    item_pins: tuple[int, ...]
    lock_active_high: bool
    door_pull_up: bool
    door_closed_level: int
    item_pull_up: bool
    item_present_level: int
    pin_factory: str
    uses: Mapping[int, str]
    """Every pin with the option that names it: ``{17: "lock_pins[0]"}`` (lock 1's output)."""

    @classmethod
    def from_spec(cls, spec: BoardSpec) -> GpioLayout:
        """The layout of ``spec``'s options (defaults from :data:`OPTIONS`)."""
        options = {key: spec.options.get(key, default) for key, (_, default) in OPTIONS.items()}
        board = spec.name
        pins = {key: _pins(board, key, options[key]) for key in _PIN_LISTS}
        layout = cls(
            lock_pins=pins["lock_pins"],
            door_pins=pins["door_pins"],
            item_pins=pins["item_pins"],
            lock_active_high=bool(options["lock_active_high"]),
            door_pull_up=bool(options["door_pull_up"]),
            door_closed_level=_level(board, "door_closed_level", options["door_closed_level"]),
            item_pull_up=bool(options["item_pull_up"]),
            item_present_level=_level(board, "item_present_level", options["item_present_level"]),
            pin_factory=_factory_name(board, options["pin_factory"]),
            uses=MappingProxyType(_uses(board, pins)),
        )
        layout._check_counts(spec)
        return layout

    @property
    def locks(self) -> range:
        """The board's lock numbers: ``1 .. len(lock_pins)``."""
        return range(1, len(self.lock_pins) + 1)

    @property
    def cut_wire_reads_closed(self) -> bool:
        """True when a door input left floating (cut wire, unplugged header) reads CLOSED."""
        return self.door_closed_level == int(self.door_pull_up)

    def _check_counts(self, spec: BoardSpec) -> None:
        count = len(self.lock_pins)
        if not count:
            raise DriverError(spec.name, "option lock_pins must list one pin per lock")
        if len(self.door_pins) != count:
            raise DriverError(
                spec.name, f"option door_pins must list {count} pins (one per lock in lock_pins)"
            )
        if self.item_pins and len(self.item_pins) != count:
            raise DriverError(
                spec.name, f"option item_pins must list {count} pins (one per lock) or none"
            )
        for channel in spec.channels:
            if channel.lock not in self.locks:
                raise DriverError(
                    spec.name,
                    f"lock {channel.lock} (compartment {channel.compartment}) has no pin: "
                    f"lock_pins lists {count}",
                )


def _pins(board: str, key: str, raw: Any) -> tuple[int, ...]:
    if not isinstance(raw, list | tuple) or not all(_is_pin(pin) for pin in raw):
        raise DriverError(board, f"option {key} must be a list of BCM pin numbers (0 or more)")
    return tuple(raw)


def _is_pin(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _level(board: str, key: str, value: Any) -> int:
    if isinstance(value, bool) or value not in (0, 1):
        raise DriverError(board, f"option {key} must be 0 or 1, not {value!r}")
    return int(value)


def _factory_name(board: str, value: Any) -> str:
    name = str(value)
    if name and name not in PIN_FACTORIES:
        raise DriverError(
            board,
            f"option pin_factory: unknown pin factory {name!r} (known: "
            f'{", ".join(PIN_FACTORIES)}; or "" for GPIOZERO_PIN_FACTORY or gpiozero\'s default)',
        )
    return name


def _uses(board: str, pins: Mapping[str, tuple[int, ...]]) -> dict[int, str]:
    uses: dict[int, str] = {}
    for key, listed in pins.items():
        for index, pin in enumerate(listed):
            use = f"{key}[{index}]"
            if pin in uses:
                raise DriverError(board, f"GPIO {pin} is used twice: {uses[pin]} and {use}")
            uses[pin] = use
    return uses
