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

What a driver **may** implement:

``board_times_pulse``
    ``True`` when the board itself switches the output off (the safety layer then does
    not rely on the host's timer).
``stats()``
    Counters for ``lockerctl status`` (frames, errors, retries, last seen).

Drivers run on worker threads owned by the safety layer and the poller; a driver needs
no locking of its own unless it shares a bus with another driver.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from drivers.errors import DriverError, UnknownDriver


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

    def stats(self) -> dict[str, Any]:
        """Counters for status displays; drivers add their own."""
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
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise DriverError(name, f"driver cannot be loaded: {exc}") from exc
    cls: type[Driver] = getattr(module, class_name)
    return cls


def create_driver(spec: BoardSpec) -> Driver:
    """Build (not open) the driver a board's config names."""
    return driver_class(spec.driver)(spec)
