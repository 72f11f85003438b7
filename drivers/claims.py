"""What two boards cannot share: a bus address, a bus's settings, a port's protocol, a pin.

Pure: it compares what built (never opened) drivers claim (:attr:`Driver.bus
<drivers.base.Driver.bus>`, :attr:`Driver.gpio_pins <drivers.base.Driver.gpio_pins>`), so
the config check can refuse a clash before a port is opened or a lock fires. Each
clash is told against the board that claimed the thing first:

* a port that is one protocol's bus for one board and another's for the next;
* a bus setting (baud, rs485) that differs from the first board's on that bus: every
  device on one pair of wires talks at one speed;
* a bus address two boards claim, or one claims and another reads inputs at: both
  boards would answer, and a lock fired for one would open the other's door;
* an input of an input board two boards read (several boards may share one input board,
  each reading inputs of its own): the door behind it would be taken for each board's;
* a GPIO pin two boards claim (a pin claimed twice within one board is the driver's
  own refusal).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from drivers.base import BusClaim, Driver

__all__ = ["clashes", "shown"]


@dataclass
class _Bus:
    """A bus as its first board set it up, who holds each address on it, and who reads
    which inputs at an address."""

    board: str
    claim: BusClaim
    holders: dict[int, tuple[Driver, str]] = field(default_factory=dict)
    readers: dict[int, list[tuple[Driver, frozenset[int], str]]] = field(default_factory=dict)


def clashes(boards: Sequence[Driver]) -> list[tuple[int, str]]:
    """``(index, message)`` for every clash, ``index`` being the later board's."""
    found: list[tuple[int, str]] = []
    buses: dict[str, _Bus] = {}
    pins: dict[int, tuple[Driver, str]] = {}
    for index, driver in enumerate(boards):
        messages = _bus_clashes(driver, buses) + _pin_clashes(driver, pins)
        found += [(index, message) for message in messages]
    return found


def shown(value: object) -> str:
    """A setting as the config spells it: ``true``, ``19200``."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _bus_clashes(driver: Driver, buses: dict[str, _Bus]) -> list[str]:
    claim = driver.bus
    if claim is None:
        return []
    bus = buses.setdefault(claim.key, _Bus(driver.name, claim))
    port = _port_named(claim, bus.claim)
    if bus.claim.protocol != claim.protocol:
        return [
            f"port {port} is already the {bus.claim.protocol} bus of board {bus.board!r}: "
            f"a {claim.protocol} board cannot share it (one bus speaks one protocol)"
        ]
    problems = [
        f"{key} = {shown(value)} on port {port}, where board {bus.board!r} has "
        f"{key} = {shown(bus.claim.settings.get(key))}: every board on one bus needs the same "
        f"{key}"
        for key, value in claim.settings.items()
        if bus.claim.settings.get(key) != value
    ]
    for address, use in sorted(claim.addresses.items()):
        readers = bus.readers.get(address, [])
        other, their_use = bus.holders.setdefault(address, (driver, use))
        if other is driver and readers:
            other, _, their_use = readers[0]
        if other is not driver:
            problems.append(_address_taken(use, address, port, other, their_use))
    for address, (inputs, use) in sorted(claim.inputs.items()):
        problems += _input_clashes(bus, driver, address, inputs, use, port)
    return problems


def _address_taken(use: str, address: int, port: str, other: Driver, their_use: str) -> str:
    return (
        f"{use} {address} on port {port} is already used by board {other.name!r} "
        f"({their_use}): two boards at one address answer as one, and a lock fired "
        "for one would open the other's door"
    )


def _input_clashes(
    bus: _Bus, driver: Driver, address: int, inputs: frozenset[int], use: str, port: str
) -> list[str]:
    """An input board's address is shared by the boards that read it, each with inputs
    of its own; never with a board that answers there."""
    holder = bus.holders.get(address)
    if holder is not None:
        return [_address_taken(use, address, port, *holder)]
    problems = []
    for other, theirs, _ in bus.readers.get(address, []):
        both = sorted(inputs & theirs)
        if both:
            shown = ", ".join(map(str, both))
            problems.append(
                f"input {shown} of {use} {address} on port {port} is already read by board "
                f"{other.name!r}: one door input read for two boards would be taken for "
                "either board's door"
            )
    bus.readers.setdefault(address, []).append((driver, inputs, use))
    return problems


def _port_named(mine: BusClaim, first: BusClaim) -> str:
    """The port as this board names it, and as the first board did where they differ."""
    if mine.port == first.port:
        return mine.port
    return f"{mine.port} (the same device as {first.port})"


def _pin_clashes(driver: Driver, pins: dict[int, tuple[Driver, str]]) -> list[str]:
    problems = []
    for pin, use in sorted(driver.gpio_pins.items()):
        other, their_use = pins.setdefault(pin, (driver, use))
        if other is not driver:
            problems.append(
                f"GPIO {pin} ({use}) is already used by board {other.name!r} ({their_use})"
            )
    return problems
