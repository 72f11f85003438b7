"""The GPIO driver drives its pins as the wiring says, and fails loudly, never CLOSED.

Almost everything here runs on gpiozero's ``MockFactory``: its pins record every level
an output went through (``pin.states``, with the time spent in each), inputs are set
with ``drive_low()``/``drive_high()`` and fire gpiozero's callbacks at once, and
``factory.reset()`` between tests frees every pin.

``fake-rpi`` cannot carry that weight: it fakes only the ``RPi.GPIO`` module (no
gpiozero factory of its own), its ``input()`` returns random bits unless a test set
them, it has no edge callbacks, it records nothing (it prints), and its
``gpio_function()`` answers OUT for every pin, which makes gpiozero refuse a pull-up on
an input. It earns one test: the driver starts and drives its outputs through
gpiozero's real ``RPiGPIOFactory`` on a machine that is not a Pi, with a spy on the
fake module recording the calls (and remembering what ``setup()`` made of each pin).
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

pytest.importorskip("gpiozero")

import gpiozero.pins
from gpiozero import Device, DigitalOutputDevice
from gpiozero.pins.mock import MockFactory, MockPin

import drivers.gpio.driver
from drivers.base import BoardSpec, ChannelSpec, DoorState
from drivers.errors import DriverError
from drivers.gpio import GpioDriver
from drivers.watchdog import OutputWatchdog

LOCK_PINS = [17, 27, 22]
DOOR_PINS = [5, 6, 13]
ITEM_PINS = [12, 16, 20]
PULSE = 0.1


def board(locks: tuple[int, ...] = (1, 2, 3), **options: Any) -> GpioDriver:
    """A board of three locks (unopened); ``options`` override the default wiring."""
    channels = tuple(ChannelSpec(lock, f"A{lock:02d}") for lock in locks)
    merged = {"lock_pins": LOCK_PINS, "door_pins": DOOR_PINS, **options}
    return GpioDriver(BoardSpec("wall", "gpio", channels, options=merged))


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    previous = Device.pin_factory
    Device.pin_factory = MockFactory()
    yield Device.pin_factory
    Device.pin_factory.reset()
    Device.pin_factory = previous


@pytest.fixture
def driver(factory: MockFactory) -> Iterator[GpioDriver]:
    made = board(item_pins=ITEM_PINS)
    made.open()
    for pin in LOCK_PINS:
        factory.pin(pin).clear_states()
    yield made
    made.close()


def levels(pin: MockPin) -> list[bool]:
    return [bool(state.state) for state in pin.states]


def time_high(pin: MockPin) -> float:
    """How long the pin stayed high the first time it went high."""
    states = pin.states
    rise = next(i for i, state in enumerate(states) if state.state)
    return float(states[rise + 1].timestamp)


# --- outputs -------------------------------------------------------------------------


def test_every_lock_output_is_off_once_the_board_opens(factory: MockFactory) -> None:
    with board():
        pins = [factory.pin(n) for n in LOCK_PINS]
        assert [(p.function, p.state) for p in pins] == [("output", False)] * 3


def test_active_low_lock_outputs_idle_high(factory: MockFactory) -> None:
    with board(lock_active_high=False, held_off_pins=LOCK_PINS):
        assert [factory.pin(n).state for n in LOCK_PINS] == [True] * 3


def test_a_pulse_drives_only_its_lock_for_the_pulse_length(
    factory: MockFactory, driver: GpioDriver
) -> None:
    driver.pulse(2, PULSE)

    fired = factory.pin(27)
    assert levels(fired) == [False, True, False]
    assert PULSE <= time_high(fired) < PULSE + 0.2
    assert levels(factory.pin(17)) == levels(factory.pin(22)) == [False]
    assert driver.stats()["pulses"] == 1


def test_an_active_low_pulse_pulls_the_output_low(factory: MockFactory) -> None:
    with board(lock_active_high=False, held_off_pins=LOCK_PINS) as made:
        factory.pin(17).clear_states()
        made.pulse(1, 0.02)
        assert levels(factory.pin(17)) == [True, False, True]


def test_a_pulse_is_cut_at_the_hard_cap(
    factory: MockFactory, driver: GpioDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(drivers.gpio.driver, "MAX_PULSE_S", 0.05)

    driver.pulse(1, 30.0)

    assert time_high(factory.pin(17)) < 0.25


class TimerThatNeverFires:
    """Stands in for threading.Timer when its thread dies before switching off."""

    daemon = False

    def __init__(self, *args: object) -> None:
        pass

    def start(self) -> None:
        pass


def test_the_watchdog_switches_off_a_lock_whose_timer_never_fired(
    factory: MockFactory, driver: GpioDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(drivers.gpio.driver.threading, "Timer", TimerThatNeverFires)

    driver.pulse(3, 0.05)

    assert levels(factory.pin(22)) == [False, True, False]
    assert time_high(factory.pin(22)) < 0.05 + 0.2  # before the caller would have stepped in
    assert driver.stats()["watchdog_offs"] == 1


def test_the_watchdog_keeps_trying_an_off_that_fails() -> None:
    attempts: list[float] = []
    done = threading.Event()

    def switch_off(lock: int) -> bool:
        attempts.append(time.monotonic())
        if len(attempts) == 3:
            done.set()
        return len(attempts) == 3  # fails twice, then works

    watchdog = OutputWatchdog("wall", switch_off, retry_s=0.01)
    watchdog.arm(1, time.monotonic())
    assert done.wait(2.0)
    watchdog.stop()

    assert len(attempts) == 3


def test_all_off_switches_every_lock_output_off(factory: MockFactory, driver: GpioDriver) -> None:
    for pin in LOCK_PINS:
        factory.pin(pin).state = True  # a stuck output, whatever put it there

    driver.all_off()

    assert [factory.pin(n).state for n in LOCK_PINS] == [False] * 3


def test_a_lock_the_board_does_not_have_is_refused(driver: GpioDriver) -> None:
    with pytest.raises(DriverError, match="no lock 4 on this board"):
        driver.pulse(4, PULSE)


# --- inputs --------------------------------------------------------------------------


def test_a_reed_switch_pulling_its_input_low_reads_closed(
    factory: MockFactory, driver: GpioDriver
) -> None:
    for pin in DOOR_PINS:
        factory.pin(pin).drive_low()
    factory.pin(6).drive_high()

    doors = {lock: reading.door for lock, reading in driver.read().items()}

    assert doors == {1: DoorState.CLOSED, 2: DoorState.OPEN, 3: DoorState.CLOSED}


def test_a_door_input_wired_the_other_way_reads_closed_high(factory: MockFactory) -> None:
    with board(door_pull_up=False, door_closed_level=1) as made:
        factory.pin(5).drive_high()
        factory.pin(6).drive_low()
        readings = made.read()

    assert (readings[1].door, readings[2].door) == (DoorState.CLOSED, DoorState.OPEN)


@pytest.mark.parametrize("present_level", [0, 1])
def test_an_item_sensor_reports_a_parcel_at_its_present_level(
    factory: MockFactory, present_level: int
) -> None:
    with board(item_pins=ITEM_PINS, item_present_level=present_level) as made:
        inside, empty = factory.pin(12), factory.pin(16)
        (inside.drive_high if present_level else inside.drive_low)()
        (empty.drive_low if present_level else empty.drive_high)()
        readings = made.read()

    assert (readings[1].item, readings[2].item) == (True, False)


def test_without_item_pins_the_item_is_unknown(factory: MockFactory) -> None:
    with board() as made:
        assert {reading.item for reading in made.read().values()} == {None}


class FailingPin(MockPin):
    """A pin whose library call fails, as lgpio does for a GPIO chip that went away."""

    failing: ClassVar[set[str]] = set()

    def _get_state(self) -> bool:
        if self.info.name in self.failing:
            raise OSError(5, "Input/output error")
        return bool(super()._get_state())


def test_an_input_that_cannot_be_read_is_a_driver_error_never_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Device, "pin_factory", MockFactory(pin_class=FailingPin))
    with board() as made:
        monkeypatch.setattr(FailingPin, "failing", {"GPIO6"})
        with pytest.raises(DriverError) as caught:
            made.read()

    assert "board 'wall'" in str(caught.value)
    assert "cannot read GPIO 6 (door_pins[1]): OSError" in str(caught.value)


# --- what is refused ------------------------------------------------------------------


def test_a_pin_listed_twice_is_refused_before_any_pin_is_claimed(factory: MockFactory) -> None:
    with pytest.raises(DriverError) as caught:
        board(door_pins=[5, 17, 13])

    assert "GPIO 17 is used twice: lock_pins[0] and door_pins[1]" in str(caught.value)

    assert not factory.pins


@pytest.mark.parametrize(
    ("locks", "options", "message"),
    [
        ((1, 2, 3, 4), {}, "lock 4 (compartment A04) has no pin: lock_pins lists 3"),
        ((1,), {"door_pins": [5, 6]}, "door_pins must list 3 pins"),
        ((1,), {"item_pins": [12]}, "item_pins must list 3 pins"),
        ((1,), {"lock_pins": []}, "lock_pins must list one pin per lock"),
        ((1,), {"lock_pins": [17, -1, 22]}, "lock_pins must be a list of BCM pin numbers"),
        ((1,), {"door_closed_level": 2}, "door_closed_level must be 0 or 1"),
    ],
)
def test_a_board_that_cannot_be_wired_is_refused(
    locks: tuple[int, ...], options: dict[str, Any], message: str
) -> None:
    with pytest.raises(DriverError, match=re.escape(message)):
        board(locks, **options)


def test_an_unknown_pin_factory_is_refused_with_the_known_ones() -> None:
    with pytest.raises(DriverError) as caught:
        board(pin_factory="lgpoi")

    assert "unknown pin factory 'lgpoi' (known: lgpio, mock, native, rpigpio" in str(caught.value)


def test_no_loadable_pin_factory_is_a_clear_error_at_open(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Device, "pin_factory", None)
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "nonesuch")

    with pytest.raises(DriverError) as caught:
        board().open()

    assert "no GPIO pin factory could be loaded" in str(caught.value)
    assert "'nonesuch'" in str(caught.value)


def test_a_second_kind_of_pin_factory_in_one_process_is_refused(factory: MockFactory) -> None:
    with pytest.raises(DriverError, match="already drives GPIO through MockFactory"):
        board(pin_factory="native").open()


def test_the_mock_pin_factory_in_place_is_the_one_used(factory: MockFactory) -> None:
    with board(pin_factory="mock"):
        assert factory.pin(17).function == "output"


def test_a_pin_held_elsewhere_fails_the_open_and_leaves_nothing_claimed(
    factory: MockFactory,
) -> None:
    holder = DigitalOutputDevice(13)

    with pytest.raises(DriverError) as caught:
        board().open()

    assert "cannot claim GPIO 13 (door_pins[2]): GPIOPinInUse" in str(caught.value)
    DigitalOutputDevice(17).close()  # the driver's lock pins were given back
    holder.close()


def test_close_is_idempotent_switches_off_and_frees_the_pins(factory: MockFactory) -> None:
    made = board()
    made.open()
    factory.pin(27).state = True  # closing in the middle of a pulse

    made.close()
    made.close()

    assert factory.pin(27).state is False
    DigitalOutputDevice(27).close()
    with pytest.raises(DriverError, match="not open"):
        made.read()


def test_close_in_the_middle_of_a_pulse_leaves_the_output_off(factory: MockFactory) -> None:
    made = board()
    made.open()
    pulsing = threading.Thread(target=made.pulse, args=(1, 0.3))
    pulsing.start()
    deadline = time.monotonic() + 2.0
    while not factory.pin(17).state and time.monotonic() < deadline:
        time.sleep(0.005)

    made.close()
    pulsing.join()

    assert factory.pin(17).state is False


# --- gpiozero's RPi.GPIO factory on fake-rpi ------------------------------------------


class RpiGpioSpy:
    """Records what gpiozero asks of fake_rpi's ``GPIO``; answers ``gpio_function`` right."""

    def __init__(self, gpio: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.gpio = gpio
        self.setups: dict[int, int] = {}
        self.outputs: list[tuple[int, int]] = []
        real_setup = gpio.setup

        def setup(channel: int, function: int, *args: Any, **kwargs: Any) -> None:
            self.setups[channel] = function
            real_setup(channel, function, *args, **kwargs)

        monkeypatch.setattr(gpio, "setup", setup)
        monkeypatch.setattr(gpio, "output", lambda ch, level: self.outputs.append((ch, int(level))))
        monkeypatch.setattr(gpio, "gpio_function", lambda ch: self.setups.get(ch, gpio.IN))


@pytest.fixture
def fake_rpi_gpio(monkeypatch: pytest.MonkeyPatch) -> Iterator[RpiGpioSpy]:
    fake_rpi = pytest.importorskip("fake_rpi")
    monkeypatch.setattr(fake_rpi.wrappers, "PRINT_ON", False)
    spy = RpiGpioSpy(fake_rpi.RPi.GPIO, monkeypatch)
    monkeypatch.setitem(sys.modules, "RPi", fake_rpi.RPi)
    monkeypatch.setitem(sys.modules, "RPi.GPIO", fake_rpi.RPi.GPIO)
    # Not a Pi: tell gpiozero it runs on a Pi 3 B rather than read /proc.
    monkeypatch.setattr("gpiozero.pins.local.get_pi_revision", lambda: 0xA02082)
    monkeypatch.setattr(Device, "pin_factory", None)
    yield spy
    if Device.pin_factory is not None:
        Device.pin_factory.close()
    # The factory module was imported against the fake: do not leave it for others.
    sys.modules.pop("gpiozero.pins.rpigpio", None)
    vars(gpiozero.pins).pop("rpigpio", None)


def test_the_driver_drives_its_outputs_through_rpi_gpio_off_a_pi(
    fake_rpi_gpio: RpiGpioSpy,
) -> None:
    gpio = fake_rpi_gpio.gpio
    with board(pin_factory="rpigpio") as made:
        for pin in DOOR_PINS:
            gpio.set_input(pin, 0)
        made.pulse(2, 0.02)
        readings = made.read()

    assert type(Device.pin_factory).__name__ == "RPiGPIOFactory"
    assert {pin: fake_rpi_gpio.setups[pin] for pin in LOCK_PINS} == dict.fromkeys(
        LOCK_PINS, gpio.OUT
    )
    assert [level for pin, level in fake_rpi_gpio.outputs if pin == 27][:2] == [1, 0]
    assert {pin for pin, level in fake_rpi_gpio.outputs if level} == {27}
    assert {reading.door for reading in readings.values()} == {DoorState.CLOSED}
