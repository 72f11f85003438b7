"""The bank's layout in a config: ``[[sizes]]``, ``[[boards]]`` and ``[[compartments]]``.

Sizes are listed smallest first, each larger than the one before. A board names its
driver, and its other keys are that driver's options, checked against the driver's
``OPTIONS`` with its defaults filled in. A compartment names a known size and a known
board, and no lock drives two compartments. Once every value has passed its type
checks, :func:`check_boards` builds (never opens) each board's driver, so what a
driver refuses is reported with the rest, and so is what two boards claim at once (a
bus address, a port at two bauds or in two protocols, a GPIO pin).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from drivers.base import Driver, create_driver, driver_class, known_drivers, port_key
from drivers.claims import clashes
from drivers.errors import DriverError, OptionsRefused
from kiosk.config.check import Problems, Table, describe, suggest
from kiosk.config.model import DEFAULT_SIZES, BoardConfig, CompartmentConfig, Config, SizeConfig
from kiosk.config.schema import validate_section

E = TypeVar("E")

__all__ = ["check_boards", "read_boards", "read_compartments", "read_sizes"]


def check_boards(config: Config, problems: Problems) -> None:
    """Build (not open) every board's driver; what its constructor refuses is a problem,
    and so is anything two boards claim at once.

    A driver refuses at construction what it cannot be built from (a ``gpio`` board: a
    pin listed twice, a compartment on a lock without a pin, wiring that would fire a
    lock before the daemon runs); a refusal that names its options
    (:class:`~drivers.errors.OptionsRefused`) is a problem per option
    (``boards[0].lock_pins``). What the built drivers
    claim is compared across boards (:mod:`drivers.claims`): a bus address, a bus's baud
    and rs485, a port's protocol, a GPIO pin. A serial scanner's port is claimed too.
    """
    built: list[Driver] = []
    where: list[int] = []
    for i, spec in enumerate(config.board_specs()):
        key = f"boards[{i}]"
        try:
            built.append(create_driver(spec))
            where.append(i)
        except OptionsRefused as exc:
            for option, reason in exc.problems:
                problems.add(f"{key}.{option}", reason)
        except DriverError as exc:
            problems.add(key, exc.reason)
        except Exception as exc:  # a driver's constructor may fail in any way; report it
            problems.add(key, f"driver {spec.driver!r} cannot be built: {exc}")
    for index, message in clashes(built):
        problems.add(f"boards[{where[index]}]", message)
    _check_scanner_port(config, built, problems)


def _check_scanner_port(config: Config, boards: list[Driver], problems: Problems) -> None:
    """A serial scanner on a board's bus would read the boards' frames as scans (and
    hold the port the boards need)."""
    if config.scanner.backend != "serial" or not config.scanner.device:
        return
    port = config.scanner.device
    for driver in boards:
        bus = driver.bus
        if bus is not None and bus.key == port_key(port):
            message = f"port {port} is already the {bus.protocol} bus of board {driver.name!r}"
            problems.add("scanner.device", message + ": a serial scanner needs a port of its own")
            return


def _tables(raw: Mapping[str, Any], name: str, problems: Problems) -> list[Any] | None:
    """An array of tables as written; ``None`` when absent or not an array."""
    if name not in raw:
        return None
    value = raw[name]
    if not isinstance(value, list):
        problems.add(name, f"must be an array of tables ([[{name}]]), got {describe(value)}")
        return None
    return value


def _entries(
    cls: type[E], tables: list[Any], name: str, problems: Problems, base: Path
) -> list[tuple[int, E]]:
    """Each table of an array that validates as a ``cls``, with its index."""
    entries: list[tuple[int, E]] = []
    for i, table in enumerate(tables):
        key = f"{name}[{i}]"
        if not isinstance(table, dict):
            problems.add(key, f"must be a table, got {describe(table)}")
            continue
        entry = validate_section(cls, table, key, problems, base)
        if entry is not None:
            entries.append((i, entry))
    return entries


def read_sizes(raw: Mapping[str, Any], problems: Problems, base: Path) -> tuple[SizeConfig, ...]:
    tables = _tables(raw, "sizes", problems)
    if tables is None:
        return DEFAULT_SIZES
    if not tables:
        problems.add("sizes", "must list at least one size (or leave [[sizes]] out)")
    sizes: list[SizeConfig] = []
    for i, size in _entries(SizeConfig, tables, "sizes", problems, base):
        earlier = [s.name for s in sizes]
        if size.name in earlier:
            where = f"sizes[{earlier.index(size.name)}]"
            problems.add(f"sizes[{i}].name", f"size {size.name!r} is already defined by {where}")
        elif sizes and _volume(size) <= _volume(sizes[-1]):
            smaller = f"size {size.name!r} must be larger than {sizes[-1].name!r} before it"
            problems.add(f"sizes[{i}].name", smaller + " (list sizes smallest first)")
        sizes.append(size)
    return tuple(sizes)


def _volume(size: SizeConfig) -> int:
    return size.width_mm * size.height_mm * size.depth_mm


_BOARD_KEYS = ("name", "driver", "power_group")


def read_boards(raw: Mapping[str, Any], problems: Problems, base: Path) -> tuple[BoardConfig, ...]:
    """``[[boards]]``: a board's own keys, and every other key an option of its driver."""
    tables = _tables(raw, "boards", problems)
    if not tables:
        problems.add("boards", "at least one [[boards]] table is required")
        return ()
    boards: list[BoardConfig] = []
    for i, table in enumerate(tables):
        key = f"boards[{i}]"
        if not isinstance(table, dict):
            problems.add(key, f"must be a table, got {describe(table)}")
            continue
        own = {name: value for name, value in table.items() if name in _BOARD_KEYS}
        board = validate_section(BoardConfig, own, key, problems, base)
        if board is None:
            continue
        given = {name: value for name, value in table.items() if name not in _BOARD_KEYS}
        options = _driver_options(Table(given, key, problems), board.driver, given)
        earlier = [b.name for b in boards]
        if board.name in earlier:
            message = (
                f"board {board.name!r} is already defined by boards[{earlier.index(board.name)}]"
            )
            problems.add(f"{key}.name", message)
        boards.append(dataclasses.replace(board, options=options))
    return tuple(boards)


def _driver_options(t: Table, driver: str, given: dict[str, Any]) -> dict[str, Any]:
    """``given`` checked against the driver's ``OPTIONS``, with its defaults filled in."""
    if driver not in known_drivers():
        t.problem("driver", f"unknown driver {driver!r}" + suggest(driver, known_drivers()))
        return given
    try:
        declared = getattr(driver_class(driver), "OPTIONS", None)
    except Exception as exc:  # a driver's import may fail in any way; report, don't crash
        t.problem("driver", f"driver {driver!r} cannot be loaded: {exc}")
        return given
    if not isinstance(declared, dict):
        return given
    options: dict[str, Any] = {}
    for name, (kind, default) in declared.items():
        options[name] = t.check_typed(name, kind, given[name]) if name in given else default
    for name in given.keys() - declared.keys():
        t.problem(name, f"unknown option for driver {driver!r}" + suggest(name, declared))
    return options


def read_compartments(
    raw: Mapping[str, Any],
    problems: Problems,
    base: Path,
    sizes: tuple[SizeConfig, ...],
    boards: tuple[BoardConfig, ...],
) -> tuple[CompartmentConfig, ...]:
    tables = _tables(raw, "compartments", problems)
    if not tables:
        problems.add("compartments", "at least one [[compartments]] table is required")
        return ()
    size_names = [s.name for s in sizes]
    board_names = [b.name for b in boards]
    ids: dict[str, int] = {}
    channels: dict[tuple[str, int], str] = {}
    result: list[CompartmentConfig] = []
    for i, c in _entries(CompartmentConfig, tables, "compartments", problems, base):
        key = f"compartments[{i}]"
        if c.id in ids:
            message = f"duplicate compartment id {c.id!r} (also compartments[{ids[c.id]}])"
            problems.add(f"{key}.id", message)
        else:
            ids[c.id] = i
        if c.size not in size_names:
            message = f"unknown size {c.size!r} (sizes: {', '.join(size_names)})"
            problems.add(f"{key}.size", message)
        if c.board not in board_names:
            known = ", ".join(board_names) or "none"
            message = f"board {c.board!r} is not defined in [[boards]] (boards: {known})"
            problems.add(f"{key}.board", message)
        if (c.board, c.lock) in channels:
            problems.add(
                f"{key}.lock",
                f"lock {c.lock} of board {c.board!r} is already used by compartment "
                f"{channels[c.board, c.lock]}",
            )
        else:
            channels[c.board, c.lock] = c.id
        result.append(c)
    return tuple(result)
