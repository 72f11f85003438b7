"""A scan of a serial bus for every kind of board that can hang on it.

Each driver says which kinds of board a scan can find (:meth:`Driver.bus_kinds
<drivers.base.Driver.bus_kinds>`), each with its own probe of one address; this module
asks every kind of a bus's protocol at each of its addresses. So a new kind of board
(another Kerong family, an input board) is found on every bus as soon as its driver
lists it, with no change here.

A scan attaches to the port like one more board (:func:`~drivers.shared_port.attach`,
claiming no address): beside the daemon it shares the bus its boards hold open, one
exchange at a time, so polling goes on between its frames; with the daemon stopped
(``locker-kiosk scan-port``) it opens the port itself and closes it after.

What a caller may rely on: :func:`scan` returns the addresses that answered, sorted;
it raises :class:`~drivers.errors.DriverError` naming the port when the port cannot be
used, or when the bus is another protocol's or already runs at another baud.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from drivers.base import BoardKind, driver_class, known_drivers
from drivers.errors import BoardOffline, DriverError, LockerError
from drivers.shared_port import SERIAL_ERRORS, attach, detach

__all__ = ["SCANNER", "Probed", "board_kinds", "scan"]

SCANNER = "bus scan"
"""Who the scan's frames are from, in errors and for the shared port."""
_CHARS_PER_ANSWER = 40  # a request and a reply, with room, in character times at the baud


@dataclass(frozen=True)
class Probed:
    """One address asked: ``found`` whether a board of ``kind`` answered there."""

    kind: BoardKind
    address: int
    found: bool


def board_kinds(protocol: str | None = None) -> tuple[BoardKind, ...]:
    """Every kind of board the known drivers can find on a bus of ``protocol`` (every
    protocol with ``None``), in the drivers' order. A driver that cannot be loaded
    here (GPIO without gpiozero) has no bus anyway and is left out."""
    kinds: list[BoardKind] = []
    for name in known_drivers():
        try:
            cls = driver_class(name)
        except LockerError:
            continue
        kinds += [k for k in cls.bus_kinds() if protocol is None or k.protocol == protocol]
    return tuple(kinds)


def scan(
    port: str,
    kind: BoardKind,
    *,
    baud: int,
    rs485: bool = False,
    addresses: Iterable[int] | None = None,
    timeout_s: float | None = None,
    progress: Callable[[Probed], None] | None = None,
) -> list[int]:
    """The addresses of ``addresses`` (default: the kind's own) where a board of
    ``kind`` answers on ``port`` at ``baud``; ``progress`` hears of each one asked.
    Each address is given ``timeout_s`` (default: the kind's own), and at a slow baud
    at least a request's and a reply's time on the wire."""
    user = object()
    try:
        bus = attach(kind.bus_class, port, user, SCANNER, (), baud=baud, rs485=rs485)
    except ValueError as exc:
        raise DriverError(SCANNER, str(exc)) from exc
    wait_s = max(timeout_s or kind.timeout_s, _CHARS_PER_ANSWER * 11 / baud)
    found: list[int] = []
    try:
        for address in kind.addresses if addresses is None else addresses:
            answered = kind.probe(bus, address, wait_s)
            if answered:
                found.append(address)
            if progress is not None:
                progress(Probed(kind, address, answered))
    except SERIAL_ERRORS as exc:
        raise BoardOffline(SCANNER, f"cannot scan {port} at {baud} baud: {exc}") from exc
    finally:
        detach(bus, user)
    return sorted(found)
