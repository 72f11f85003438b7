r"""The GPIO driver: locks and door sensors wired straight to the Pi's header.

One :class:`gpiozero.DigitalOutputDevice` per lock (a relay or MOSFET stage driving the
solenoid, with a flyback diode across the coil) and one :class:`gpiozero.DigitalInputDevice`
per door sensor (a reed switch or the lock's own feedback switch), plus an optional
item sensor per compartment. Pins are BCM numbers.

Options (``[[boards]]`` keys; :mod:`drivers.gpio.layout` checks them; per-lock lists
are indexed by lock number - 1)::

    lock_pins           [17, 27, 22, 23]  one output per lock; the board has len(lock_pins) locks
    door_pins           [5, 6, 13, 19]    one input per lock
    item_pins           []                one input per lock, or none at all
    lock_active_high    true              false for the usual active-low relay modules
    door_pull_up        true              the Pi's pull-up on door inputs (switch to ground)
    door_closed_level   0                 the level a door input reads when the door is shut
    item_pull_up        true              the Pi's pull-up on item inputs
    item_present_level  0                 the level an item input reads with a parcel inside
    pin_factory         ""                "" = GPIOZERO_PIN_FACTORY or gpiozero's own choice;
                                          "lgpio" (the only one on a Pi 5), "rpigpio",
                                          "native", "mock"
    pi_model            "4"               the Pi it runs on: its pins' power-on pulls
    held_off_pins       []                lock output pins an external resistor holds
                                          off from power-on

A pin listed twice on one board is refused at construction (the config loader also
refuses a pin shared by two boards: the header belongs to one Pi). Every pin is claimed
at :meth:`GpioDriver.open`, so a pin another program holds fails at start, not at the
first unlock.

The host times the pulse (``board_times_pulse = False``). :meth:`GpioDriver.pulse` on
lock 2 for ``seconds``, lock outputs active-high::

    lock 2 out  ____/‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾\____________________________
                    ^ on()                 ^ Timer thread: off()
                    |<----- seconds ------>|<- grace ->|
                                           |           ^ watchdog: off() if still on
                                           ^ pulse() returns (caller waited)
    other outs  _______________________________________________________

The off does not depend on the caller: a :class:`threading.Timer` switches it, and a
per-board watchdog thread switches off any output still on ``grace`` after its deadline
(and retries while it fails). The safety layer then calls :meth:`GpioDriver.all_off` as
a third guard. What no thread can cover: a ``kill -9`` mid-pulse leaves the pin driven
until systemd's ``ExecStopPost`` runs ``locker-kiosk safe-off``; boards that time the
pulse themselves (Kerong, Modbus "flash on") do not have that gap.

Wiring that fails safe: before the daemon starts (from power-on) and after it released
a pin, an output stage sees only the pin's pull. The layout refuses, when the config is
read, a lock output whose off level is not its pin's power-on level unless
``held_off_pins`` says an external resistor holds it off
(:mod:`drivers.gpio.power_on`). With the default door wiring (pull-up, switch to
ground, ``door_closed_level = 0``) a cut wire or an unplugged header reads OPEN, never
CLOSED; a ``door_closed_level`` equal to the pull's level, where a cut wire would read
CLOSED, is refused.

A "dead board" for GPIO is the pin library failing (a GPIO chip or expander that went
away, an I/O error): :meth:`read` and :meth:`pulse` raise :class:`DriverError` naming
the pin, and a read never claims ``CLOSED``. Debouncing is the kiosk's job, not
gpiozero's ``bounce_time`` (which ``MockPin`` ignores, so it could not be tested).
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from gpiozero import (  # type: ignore[import-untyped]
    Device,
    DigitalInputDevice,
    DigitalOutputDevice,
)

from drivers.base import MAX_PULSE_S, BoardSpec, ChannelReading, DoorState, Driver
from drivers.errors import DriverError
from drivers.gpio.layout import OPTIONS, PIN_FACTORIES, GpioLayout
from drivers.gpio.power_on import model_name, same_pulls
from drivers.watchdog import OutputWatchdog

__all__ = ["WATCHDOG_GRACE_S", "GpioDriver"]

log = logging.getLogger(__name__)

DEVICE_TREE_MODEL = Path("/proc/device-tree/model")
"""Where a Pi names itself (``Raspberry Pi 4 Model B Rev 1.4``); absent elsewhere."""
WATCHDOG_GRACE_S = 0.05
"""How long past its deadline the watchdog lets an output stay on."""
_CALLER_GRACE_S = 0.25  # the caller ends the pulse itself if the timer is this late
_FACTORY_LOCK = threading.Lock()


class GpioDriver(Driver):
    """Locks and sensors on the Pi's own GPIO pins, through gpiozero."""

    OPTIONS: ClassVar[dict[str, tuple[type, object]]] = OPTIONS

    board_times_pulse = False

    def __init__(self, spec: BoardSpec) -> None:
        super().__init__(spec)
        self.layout = GpioLayout.from_spec(spec)
        self._io = threading.RLock()
        self._outputs: dict[int, Any] = {}
        self._doors: dict[int, Any] = {}
        self._items: dict[int, Any] = {}
        self._watchdog: OutputWatchdog | None = None
        self._counts = {"pulses": 0, "reads": 0, "errors": 0, "watchdog_offs": 0}
        self._last_error: str | None = None

    @property
    def gpio_pins(self) -> Mapping[int, str]:
        """Every BCM pin this board claims: ``{17: "lock_pins[0]"}`` (checked across boards)."""
        return self.layout.uses

    # -- the driver contract --------------------------------------------------------

    def open(self) -> None:
        """Claim every pin, lock outputs first and off. Idempotent.

        Refuses (claiming nothing) on a Pi whose power-on pulls are not those of the
        configured ``pi_model``: the wiring was checked against that model's."""
        with self._io:
            if self._outputs:
                return
            self._check_model()
            factory = self._pin_factory()
            try:
                self._claim_all(factory)
            except DriverError:
                self._release_all()
                raise
            self._watchdog = OutputWatchdog(self.name, self._watchdog_off)

    def close(self) -> None:
        """Every output off (best effort), every pin released. Idempotent."""
        with self._io:
            watchdog, self._watchdog = self._watchdog, None
            for lock, output in self._outputs.items():
                try:
                    output.off()
                except Exception as exc:
                    log.warning("board %r: lock %d not off at close: %s", self.name, lock, exc)
            self._release_all()
        if watchdog is not None:
            watchdog.stop()  # outside self._io: the watchdog may be waiting for it

    def all_off(self) -> None:
        """Every lock output off now; raises :class:`DriverError` naming the pins that failed."""
        with self._io:
            self._check_open()
            failed = []
            for lock, output in self._outputs.items():
                try:
                    output.off()
                except Exception as exc:
                    failed.append(f"GPIO {self.layout.lock_pins[lock - 1]} (lock {lock}): {exc}")
                else:
                    self._disarm(lock)
        if failed:
            raise self._error("all off failed: " + "; ".join(failed))

    def pulse(self, lock: int, seconds: float) -> None:
        """Lock ``lock`` on for ``seconds`` (capped at :data:`MAX_PULSE_S`), then off.

        Returns once the output is off again (see the module's waveform).
        """
        length = min(max(seconds, 0.0), MAX_PULSE_S)
        with self._io:
            output = self._output(lock)
            if self._watchdog is not None:
                self._watchdog.arm(lock, time.monotonic() + length + WATCHDOG_GRACE_S)
            self._switch_on(lock, output)
            self._counts["pulses"] += 1
        ending = _Ending()
        timer = threading.Timer(length, self._end_pulse, (lock, ending))
        timer.daemon = True
        try:
            timer.start()
        except RuntimeError as exc:  # no thread to be had: this thread ends the pulse below
            log.warning("board %r: pulse timer not started: %s", self.name, exc)
        if not ending.done.wait(length + _CALLER_GRACE_S):
            self._end_pulse(lock, ending)  # the timer is late: do not wait for it
        if ending.error is not None:
            raise ending.error

    def read(self) -> dict[int, ChannelReading]:
        """Door (and item) of every lock of the board, from the input levels."""
        with self._io:
            self._check_open()
            readings = {lock: self._reading(lock) for lock in self.layout.locks}
            self._counts["reads"] += 1
            return readings

    def stats(self) -> dict[str, Any]:
        return {**self._counts, "last_error": self._last_error}

    @property
    def channel_count(self) -> int:
        """One channel per entry of ``lock_pins``; :meth:`pulse` and :meth:`read` already
        reach every one of them, so ``read_all`` and ``pulse_channel`` need nothing more."""
        return len(self.layout.lock_pins)

    # -- pins -----------------------------------------------------------------------

    def _check_model(self) -> None:
        try:
            running = DEVICE_TREE_MODEL.read_bytes().rstrip(b"\0").decode(errors="replace")
        except OSError:
            return  # not a Pi (a bench with a mock factory): nothing to compare
        model = self.layout.pi_model
        if not same_pulls(model, running):
            raise self._error(
                f'pi_model = "{model}" (the {model_name(model)}\'s power-on pulls), but this '
                f"is a {running.strip()}: its pins start otherwise, so the wiring was checked "
                "against the wrong Pi; set pi_model to this Pi and check the config again"
            )

    def _pin_factory(self) -> Any:
        """The gpiozero factory every pin of this board goes through."""
        name = self.layout.pin_factory
        if not name:
            try:
                Device.ensure_pin_factory()
            except Exception as exc:
                raise self._error(
                    f"no GPIO pin factory could be loaded ({_describe(exc)}); install lgpio "
                    "(python3-lgpio) on a Pi, or set pin_factory or GPIOZERO_PIN_FACTORY"
                ) from exc
            return Device.pin_factory
        module_name, _, class_name = PIN_FACTORIES[name].partition(":")
        try:
            factory_class = getattr(importlib.import_module(module_name), class_name)
        except ImportError as exc:
            raise self._error(f"pin factory {name!r} cannot be loaded: {exc}") from exc
        with _FACTORY_LOCK:
            if Device.pin_factory is None:
                try:
                    Device.pin_factory = factory_class()
                except Exception as exc:
                    raise self._error(
                        f"pin factory {name!r} cannot start: {_describe(exc)}"
                    ) from exc
            current = Device.pin_factory
        if not isinstance(current, factory_class):
            # Two factories in one process would not see each other's pin claims.
            raise self._error(
                f"pin factory {name!r} asked for, but this process already drives GPIO "
                f"through {type(current).__name__}"
            )
        return current

    def _claim_all(self, factory: Any) -> None:
        layout = self.layout
        for lock, pin in zip(layout.locks, layout.lock_pins, strict=True):
            self._outputs[lock] = self._claim(
                DigitalOutputDevice,
                pin,
                active_high=layout.lock_active_high,
                initial_value=False,
                pin_factory=factory,
            )
        for target, pins, pull_up in (
            (self._doors, layout.door_pins, layout.door_pull_up),
            (self._items, layout.item_pins, layout.item_pull_up),
        ):
            for lock, pin in zip(layout.locks, pins, strict=False):
                target[lock] = self._claim(
                    DigitalInputDevice, pin, pull_up=pull_up, bounce_time=None, pin_factory=factory
                )

    def _claim(self, device_class: Callable[..., Any], pin: int, **kwargs: Any) -> Any:
        try:
            return device_class(pin, **kwargs)
        except Exception as exc:
            use = self.layout.uses[pin]
            raise self._error(f"cannot claim GPIO {pin} ({use}): {_describe(exc)}") from exc

    def _release_all(self) -> None:
        for devices in (self._outputs, self._doors, self._items):
            for device in devices.values():
                try:
                    device.close()
                except Exception as exc:
                    log.warning("board %r: closing %r failed: %s", self.name, device, exc)
            devices.clear()

    def _check_open(self) -> None:
        if not self._outputs:
            raise DriverError(self.name, "not open")

    def _output(self, lock: int) -> Any:
        self._check_open()
        output = self._outputs.get(lock)
        if output is None:
            count = len(self.layout.lock_pins)
            raise DriverError(
                self.name, f"no lock {lock} on this board (locks 1-{count})", channel=lock
            )
        return output

    def _reading(self, lock: int) -> ChannelReading:
        layout = self.layout
        door = self._level_of(self._doors[lock], layout.door_pins[lock - 1], layout.door_pull_up)
        state = DoorState.CLOSED if door == layout.door_closed_level else DoorState.OPEN
        item_input = self._items.get(lock)
        if item_input is None:
            return ChannelReading(state)
        item = self._level_of(item_input, layout.item_pins[lock - 1], layout.item_pull_up)
        return ChannelReading(state, item == layout.item_present_level)

    def _level_of(self, device: Any, pin: int, pull_up: bool) -> int:
        """The electrical level of an input (gpiozero's ``value`` is inverted by a pull-up)."""
        try:
            value = int(device.value)
        except Exception as exc:
            use = self.layout.uses[pin]
            raise self._error(f"cannot read GPIO {pin} ({use}): {_describe(exc)}") from exc
        return value ^ int(pull_up)

    # -- pulses ---------------------------------------------------------------------

    def _switch_on(self, lock: int, output: Any) -> None:
        try:
            output.on()
        except Exception as exc:
            error = self._error(f"lock {lock} not switched on: {_describe(exc)}", lock)
            try:
                output.off()
            except Exception:  # in doubt: the watchdog stays armed and keeps trying
                log.warning("board %r: lock %d left in doubt after a failed on", self.name, lock)
            else:
                self._disarm(lock)
            raise error from exc

    def _end_pulse(self, lock: int, ending: _Ending) -> None:
        """Switch ``lock`` off; runs on the Timer thread (or the caller's, if it is late)."""
        try:
            with self._io:
                output = self._outputs.get(lock)
                if output is None:  # closed meanwhile: close() switched it off
                    return
                try:
                    output.off()
                except Exception as exc:
                    ending.error = self._error(
                        f"lock {lock} not switched off: {_describe(exc)}", lock
                    )
                    return
                self._disarm(lock)
        finally:
            ending.done.set()

    def _watchdog_off(self, lock: int) -> bool:
        """The watchdog's action: ``lock`` off if it is still on. False if that failed."""
        with self._io:
            output = self._outputs.get(lock)
            try:
                if output is not None and output.is_active:
                    output.off()
                    self._counts["watchdog_offs"] += 1
                    log.warning("board %r: watchdog switched lock %d off", self.name, lock)
            except Exception as exc:
                log.error("board %r: watchdog: lock %d not off: %s", self.name, lock, exc)
                return False
            return True

    def _disarm(self, lock: int) -> None:
        if self._watchdog is not None:
            self._watchdog.disarm(lock)

    def _error(self, message: str, lock: int | None = None) -> DriverError:
        self._counts["errors"] += 1
        self._last_error = message
        return DriverError(self.name, message, channel=lock)


class _Ending:
    """How one pulse ended: ``done`` once the off was tried, ``error`` if it failed."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: DriverError | None = None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
