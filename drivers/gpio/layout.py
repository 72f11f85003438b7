"""What a GPIO board's options say is wired where, checked before any pin is touched.

Pure: no gpiozero import, so the config loader's checks and the tests of the layout
run on any machine. :class:`GpioLayout.from_spec` raises
:class:`~drivers.errors.DriverError` for anything a board cannot be built from:
a list that is not BCM pin numbers, a door or item list that does not match the
lock list, a compartment on a lock without a pin, a level other than 0 or 1, an
unknown pin factory, or a pin listed twice.

It also refuses wiring that is unsafe before the daemon runs, with
:class:`~drivers.errors.OptionsRefused` naming each option (:meth:`GpioLayout.boot_problems`,
:mod:`drivers.gpio.power_on`): a lock output whose off level is not its pin's power-on
level (unless ``held_off_pins`` says an external resistor holds it off), a lock output
on a pin the firmware drives while it boots, and a door input where a cut wire reads
CLOSED.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from drivers.base import BoardSpec
from drivers.errors import DriverError, OptionsRefused
from drivers.gpio.power_on import DEFAULT_MODEL, PI_MODELS, PowerOn, boot_driven, power_on

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
    "pi_model": (str, DEFAULT_MODEL),
    "held_off_pins": (list[int], ()),
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
    pi_model: str = DEFAULT_MODEL
    """The Pi the board is (a key of :data:`~drivers.gpio.power_on.PI_MODELS`): its pins'
    power-on pulls."""
    held_off_pins: tuple[int, ...] = ()
    """Lock output pins whose off level an external resistor holds from power-on."""

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
            pi_model=_model(board, options["pi_model"]),
            held_off_pins=_pins(board, "held_off_pins", options["held_off_pins"]),
        )
        layout._check_counts(spec)
        problems = layout.boot_problems()
        if problems:
            raise OptionsRefused(board, problems)
        return layout

    @property
    def locks(self) -> range:
        """The board's lock numbers: ``1 .. len(lock_pins)``."""
        return range(1, len(self.lock_pins) + 1)

    @property
    def cut_wire_reads_closed(self) -> bool:
        """True when a door input left floating (cut wire, unplugged header) reads CLOSED."""
        return self.door_closed_level == int(self.door_pull_up)

    def boot_problems(self) -> tuple[tuple[str, str], ...]:
        """``(option, why)`` for each way this wiring is unsafe before the daemon runs.

        Lock outputs whose pins would switch them on from power-on are told in one
        problem per cause (sitting at the "on" level, a pull nobody knows, a pull on
        the Pi's board, a pin the firmware drives); then ``held_off_pins`` naming a pin
        that is no lock output; then a door input where a cut wire reads CLOSED.
        """
        causes: dict[tuple[str, str, int | None], list[tuple[int, int]]] = {}
        for lock, pin in enumerate(self.lock_pins, start=1):
            cause = self._unsafe_output(pin)
            if cause is not None:
                causes.setdefault(cause, []).append((pin, lock))
        problems = [("lock_pins", self._output_text(c, pins)) for c, pins in causes.items()]
        strays = [pin for pin in self.held_off_pins if pin not in self.lock_pins]
        if strays:
            problems.append(("held_off_pins", _stray_text(strays)))
        if self.cut_wire_reads_closed:
            problems.append(("door_closed_level", self._cut_wire_text()))
        return tuple(problems)

    def _unsafe_output(self, pin: int) -> tuple[str, str, int | None] | None:
        """Why lock output ``pin`` would be on before the daemon runs: ``(kind, why,
        power-on level)``, or ``None`` when it is off from power-on."""
        driven = boot_driven(pin)
        if driven is not None:
            return "driven", driven, None
        start: PowerOn = power_on(self.pi_model, pin)
        if start.level == int(not self.lock_active_high):
            return None
        if start.fixed:
            return "fixed", start.why, start.level
        if pin in self.held_off_pins:
            return None
        return ("unknown" if start.level is None else "on"), start.why, start.level

    def _output_text(self, cause: tuple[str, str, int | None], pins: list[tuple[int, int]]) -> str:
        kind, why, level = cause
        named, many = _pins_text(pins)
        pull = "pull-down resistor" if self.lock_active_high else "pull-up resistor to 3.3 V"
        hold = (
            f"hold {'each' if many else 'it'} off with an external {pull} "
            "(10 kOhm or less) and list it in held_off_pins"
        )
        if kind == "driven":
            return f"{named}: {why}: no place for a lock output; use another pin"
        if kind == "unknown":
            return (
                f"{named}: {why}, so nothing holds {'these outputs' if many else 'this output'} "
                f"off from power-on until the daemon starts: {hold}"
            )
        word = "high" if level else "low"
        sense = "active-high" if self.lock_active_high else "active-low"
        if kind == "fixed":
            return (
                f"{named}: {why}: {'they sit' if many else 'it sits'} high from power-on, which "
                f"switches an active-high output on, and no external resistor can hold "
                f"{'them' if many else 'it'} low against that: use another pin"
            )
        instead = (
            "pins the Pi pulls down (BCM 9-27, not 14-15)"
            if self.lock_active_high
            else "pins the Pi pulls up (BCM 2-8)"
        )
        return (
            f"{named} {'sit' if many else 'sits'} {word} from power-on until the daemon starts "
            f"({why}), and {word} switches {'these' if many else 'this'} {sense} "
            f"output{'s' if many else ''} on "
            f"(lock_active_high = {str(self.lock_active_high).lower()}): "
            f"{'those locks' if many else 'the lock'} would release at every cold boot. "
            f"Use {instead}, or {hold}"
        )

    def _cut_wire_text(self) -> str:
        pull = "up" if self.door_pull_up else "down"
        other = 1 - self.door_closed_level
        return (
            f"a cut wire or an unplugged header reads CLOSED: door_closed_level = "
            f"{self.door_closed_level} is the level the pull-{pull} (door_pull_up = "
            f"{str(self.door_pull_up).lower()}) gives an input with nothing connected, so a "
            f"door whose sensor wire broke would look shut. Wire each switch so that a shut "
            f"door reads {other} (door_closed_level = {other})"
        )

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


def _model(board: str, value: Any) -> str:
    model = str(value)
    if model not in PI_MODELS:
        known = ", ".join(f'"{name}"' for name in PI_MODELS)
        raise OptionsRefused(board, (("pi_model", f"unknown Pi model {model!r} (known: {known})"),))
    return model


def _pins_text(pins: list[tuple[int, int]]) -> tuple[str, bool]:
    """``GPIO 13 (lock 3)`` or ``GPIO 13 (lock 3), 16 (lock 4) and 19 (lock 5)``, and
    whether it names more than one pin."""
    named = [f"{pin} (lock {lock})" for pin, lock in pins]
    text = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    return f"GPIO {text}", len(named) > 1


def _stray_text(pins: list[int]) -> str:
    listed = ", ".join(str(pin) for pin in pins)
    return (
        f"GPIO {listed} {'is' if len(pins) == 1 else 'are'} not in lock_pins: list only lock "
        "outputs whose off level an external resistor holds"
    )


def _uses(board: str, pins: Mapping[str, tuple[int, ...]]) -> dict[int, str]:
    uses: dict[int, str] = {}
    for key, listed in pins.items():
        for index, pin in enumerate(listed):
            use = f"{key}[{index}]"
            if pin in uses:
                raise DriverError(board, f"GPIO {pin} is used twice: {uses[pin]} and {use}")
            uses[pin] = use
    return uses
