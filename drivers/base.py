"""The driver seam: one small abstract class per board, and a registry by name.

A *driver* drives one lock control board: its lock outputs and the door (and item)
sensors wired to it. The kiosk never calls a driver directly; it goes through
:class:`drivers.safety.LockSafety`, which adds the safety rules (outputs off at start
and exit, a hard cap on pulse length, one lock at a time per power group).

What a driver **must** implement:

``open()``
    Open the port / claim the pins. Raise :class:`~drivers.errors.DriverError` on failure.
``close()``
    Switch every output off (best effort) and release the port. Idempotent.
``all_off()``
    Switch every lock output off now. Called first thing after ``open()`` and on every
    exit path; it must not raise for a board that is merely slow.
``pulse(lock, seconds)``
    Energise lock ``lock`` (numbered from 1) for ``seconds`` and guarantee that it goes
    off afterwards. It may return at once when the board times the pulse itself
    (Kerong, Modbus "flash on") or after the pulse when the host times it (GPIO, sim).
    ``seconds`` has already been clamped by the safety layer.
``read()``
    One raw sample of every channel: ``{lock: ChannelReading}``. Raise
    :class:`~drivers.errors.DriverError` when the board cannot be read; never guess
    ``CLOSED``. Debouncing is *not* the driver's job: the kiosk debounces raw samples.
    A read may cost the driver's whole retry schedule (a Kerong board that does not
    answer: ``retries + 1`` time-outs and the waits between them, about 0.5 s).

What a driver **may** implement:

``board_times_pulse``
    ``True`` when the board itself switches the output off (the safety layer then does
    not rely on the host's timer).
``pulse_length(seconds)``
    How long the coil stays energised after ``pulse(lock, seconds)``, where the board has
    its own say: a Kerong board's energise time, a Modbus flash in 100 ms steps. The
    safety layer spaces the fires of a power group by it, so a board that holds a
    lock longer than asked cannot overlap the next fire on its supply. Default:
    ``seconds``.
``stats()``
    Counters for ``lockerctl status`` (frames, errors, retries, last seen).
``read_within(budget_s)``
    :meth:`read` that returns or raises within about ``budget_s`` seconds, counted from
    when the driver has its bus; retries only while they fit. The poller reads this way
    (half a poll period), because the next poll is the retry: a board that stopped
    answering must be reported offline in a few poll periods, not after a retry
    schedule meant for unlocks. The budget may be overrun by one attempt's minimum
    (the frames' wire time and a margin) when it is shorter than that, and by the
    wait for a bus shared with other boards. Default: :meth:`read`, for drivers whose
    read is quick anyway (sim, GPIO).

For the technician's tools (``lockerctl discover`` and ``lockerctl scan-bus``), a driver
**may** also implement:

``channel_count``
    How many lock channels the board has, wired in the config or not (a Kerong CU16: 16,
    a Modbus relay board: 8). The default is the highest lock of the config, so a
    driver that does not say covers only what the config already knows.
``read_all()``
    One raw sample of every channel of the board (1..``channel_count``), configured or
    not, as :meth:`read` does for the configured ones. Default: :meth:`read`.
``pulse_channel(channel, seconds)``
    :meth:`pulse` on any channel in 1..``channel_count``, configured or not; only
    discovery calls it, and only through the safety layer (which applies the same cap,
    gap and one-at-a-time rule as to :meth:`pulse`). Default: :meth:`pulse` (so an
    unconfigured channel is refused).
``scan_bus()``
    The addresses that answer on the board's bus, sorted, the board's own included if
    it answers. It may take a second or two: it must hold the bus only frame by frame,
    so polling goes on meanwhile, and it is called without the safety layer's board lock
    (the driver serialises its own frames). Default: raise
    :class:`~drivers.errors.UnsupportedError` (a board without a bus: sim, GPIO).
``bus_kinds()`` (a class method)
    The kinds of board of this driver that a scan of a bus can find, each a
    :class:`BoardKind` with its own probe of one address (:mod:`drivers.bus_scan` asks
    every kind of a bus's protocol, on every bus). Default: none (sim, GPIO).

For the config check, which refuses two boards that claim one thing, a driver **may** say
what it holds (the defaults claim nothing):

``bus``
    A :class:`BusClaim`: the serial port it talks on, the protocol
    spoken there, the settings every board on that bus must share (baud, rs485) and the
    addresses on it that are this board's. Two boards at one address answer as one, so
    a lock fired for one opens the other's door.
``gpio_pins``
    Every GPIO pin (BCM number) the board claims, with the option that names it
    (``{17: "lock_pins[0]"}``): the pins belong to the one Pi.

Drivers run on worker threads owned by the safety layer and the poller; a driver needs
no locking of its own unless it shares a bus with another driver, or implements
``scan_bus()``.
"""

from __future__ import annotations

import importlib
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from drivers.errors import DriverError, UnknownDriver, UnsupportedError

MAX_PULSE_S = 2.0
"""Hard cap on a pulse: no config or caller can raise it. The safety layer
(:mod:`drivers.safety`) clamps every pulse to it; a driver holds to it where it could
keep a coil on longer by itself (a host-timed pulse, a board-timed pulse sent again)."""


class DoorState(StrEnum):
    """What a door sensor says. ``UNKNOWN`` is what we say when we could not read it."""

    CLOSED = "CLOSED"
    OPEN = "OPEN"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class ChannelReading:
    """One raw sample of one channel. ``item`` is ``None`` without an item sensor."""

    door: DoorState
    item: bool | None = None


@dataclass(frozen=True)
class ChannelSpec:
    """A lock channel of a board and the compartment behind it."""

    lock: int
    compartment: str


@dataclass(frozen=True)
class BoardSpec:
    """Everything a driver gets from the config.

    ``options`` holds the board's own table (port, baud, address and driver-specific
    keys), already validated by the kiosk's config loader.
    """

    name: str
    driver: str
    channels: tuple[ChannelSpec, ...]
    power_group: str = "main"
    options: Mapping[str, Any] = field(default_factory=dict)
    data_dir: Path | None = None

    def resolve_port(self, port: str) -> str:
        """A relative serial port path lives in the data dir (the simulator links its
        pseudo-terminals there); absolute paths and pyserial URLs are kept as given."""
        if not port or "://" in port or Path(port).is_absolute() or self.data_dir is None:
            return port
        return str(self.data_dir / port)


def port_key(port: str) -> str:
    """One name per serial port, whatever a config calls it: a device's real path (so
    ``/dev/serial/by-id/...`` and the ``/dev/ttyUSB0`` it points at are one port), or a
    pyserial URL as written."""
    return port if "://" in port else os.path.realpath(port)


@dataclass(frozen=True)
class BusClaim:
    """A board's place on a serial bus, as the config check compares boards by it.

    ``port`` is the board's port as the config names it (two names of one device are
    one bus: :attr:`key`); ``protocol`` what is spoken on the wire (boards of two
    protocols cannot share a bus); ``settings`` what every board on the bus must agree
    on, as the config spells it (``{"baud": 19200, "rs485": False}``); ``addresses`` the
    bus addresses that are this board's, each with the option naming it
    (``{3: "address"}``); ``inputs`` the addresses of another device (an input board)
    whose inputs the board reads, with the inputs (counting from 1) and the option
    naming them (``{3: (frozenset({9, 10}), "input_address")}``): several boards may
    read one input board, each its own inputs.
    """

    port: str
    protocol: str
    settings: Mapping[str, object]
    addresses: Mapping[int, str]
    inputs: Mapping[int, tuple[frozenset[int], str]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The bus's one name: :func:`port_key` of :attr:`port`."""
        return port_key(self.port)


Probe = Callable[[Any, int, float], bool]
"""``probe(bus, address, timeout_s)``: whether a board of one kind answers at ``address``
on ``bus``, an open-able :class:`~drivers.shared_port.SharedPort` of the kind's
``bus_class``."""


@dataclass(frozen=True)
class BoardKind:
    """A kind of board a bus scan can find, and how to ask an address for one.

    ``name`` is what a person calls it (``"Kerong CU16"``), ``driver`` the config's
    driver name for it, ``bus_class`` the :class:`~drivers.shared_port.SharedPort`
    subclass of its protocol (its ``protocol`` names the bus), ``addresses`` those a
    scan asks, ``timeout_s`` how long an address is given to answer (the scan gives
    more at a slow baud). ``probe`` holds the bus for one exchange at a time (polling
    goes on between), opens the port if it is closed, and may raise one of
    :data:`~drivers.shared_port.SERIAL_ERRORS` when the port fails.
    """

    name: str
    driver: str
    bus_class: type[Any]
    addresses: range
    timeout_s: float
    probe: Probe

    @property
    def protocol(self) -> str:
        """The protocol of the bus this kind hangs on (``"kerong"``, ``"modbus"``)."""
        return str(self.bus_class.protocol)


class Driver(ABC):
    """One lock control board. See the module docstring for the contract."""

    board_times_pulse: bool = False

    def __init__(self, spec: BoardSpec) -> None:
        self.spec = spec

    @property
    def name(self) -> str:
        return self.spec.name

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def all_off(self) -> None: ...

    @abstractmethod
    def pulse(self, lock: int, seconds: float) -> None: ...

    @abstractmethod
    def read(self) -> dict[int, ChannelReading]: ...

    def pulse_length(self, seconds: float) -> float:
        """How long a coil stays on after ``pulse(lock, seconds)``; by default ``seconds``."""
        return seconds

    def read_within(self, budget_s: float) -> dict[int, ChannelReading]:
        """:meth:`read` within about ``budget_s`` seconds; by default just :meth:`read`."""
        return self.read()

    def stats(self) -> dict[str, Any]:
        """Counters for status displays; drivers add their own."""
        return {}

    # -- may: the technician's tools (see the module docstring) -----------------------

    @property
    def channel_count(self) -> int:
        """Lock channels on the board; by default the highest configured lock."""
        return max((channel.lock for channel in self.spec.channels), default=0)

    def read_all(self) -> dict[int, ChannelReading]:
        """A raw sample of every channel, configured or not; by default :meth:`read`."""
        return self.read()

    def pulse_channel(self, channel: int, seconds: float) -> None:
        """:meth:`pulse` on any channel of the board; by default configured ones only."""
        self.pulse(channel, seconds)

    def scan_bus(self) -> list[int]:
        """The addresses answering on the board's bus; by default unsupported."""
        raise UnsupportedError(self.name, f"the {self.spec.driver} driver has no bus to scan")

    @classmethod
    def bus_kinds(cls) -> tuple[BoardKind, ...]:
        """The kinds of board of this driver a bus scan looks for; by default none."""
        return ()

    # -- may: what the board holds, for the config check -------------------------------

    @property
    def bus(self) -> BusClaim | None:
        """The board's place on a serial bus; by default none (sim, GPIO)."""
        return None

    @property
    def gpio_pins(self) -> Mapping[int, str]:
        """The GPIO pins the board claims, ``{bcm: option}``; by default none."""
        return {}

    def __enter__(self) -> Driver:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# name -> "module:Class"; modules are imported only when a config asks for them, so a
# machine without gpiozero still runs the serial drivers.
_REGISTRY: dict[str, str] = {
    "sim": "drivers.sim:SimDriver",
    "gpio": "drivers.gpio:GpioDriver",
    "modbus": "drivers.modbus:ModbusRelayDriver",
    "kerong": "drivers.kerong:KerongDriver",
    "kerong-cu48": "drivers.kerong:KerongCu48Driver",
}


def known_drivers() -> tuple[str, ...]:
    """Names a config may use for ``driver``."""
    return tuple(sorted(_REGISTRY))


def register_driver(name: str, target: str) -> None:
    """Register ``"module:Class"`` under ``name`` (for out-of-tree drivers)."""
    _REGISTRY[name] = target


def driver_class(name: str) -> type[Driver]:
    """The class registered under ``name``; a missing library is a clear error."""
    try:
        target = _REGISTRY[name]
    except KeyError:
        known = ", ".join(known_drivers())
        raise UnknownDriver(f"unknown driver {name!r} (known: {known})") from None
    module_name, _, class_name = target.partition(":")
    try:
        # A package may import its driver on first use (drivers.gpio): a missing library
        # shows at getattr then.
        cls: type[Driver] = getattr(importlib.import_module(module_name), class_name)
    except ImportError as exc:
        raise DriverError(name, f"driver cannot be loaded: {exc}") from exc
    return cls


def create_driver(spec: BoardSpec) -> Driver:
    """Build (not open) the driver a board's config names."""
    return driver_class(spec.driver)(spec)
