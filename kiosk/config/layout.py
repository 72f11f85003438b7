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

from typing import Any

from drivers.base import Driver, create_driver, driver_class, known_drivers, port_key
from drivers.claims import clashes
from drivers.errors import DriverError, OptionsRefused
from kiosk.config.check import ID_PATTERN, ID_RULE, Problems, Table, suggest
from kiosk.config.model import DEFAULT_SIZES, BoardConfig, CompartmentConfig, Config, SizeConfig

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


def read_sizes(top: Table) -> tuple[SizeConfig, ...]:
    tables = top.tables("sizes")
    if tables is None:
        return DEFAULT_SIZES
    if not tables:
        top.problem("sizes", "must list at least one size (or leave [[sizes]] out)")
    sizes: list[SizeConfig] = []
    for t in tables:
        size = SizeConfig(
            name=t.get_str("name", pattern=r"[A-Za-z0-9]{1,8}", rule="1-8 letters or digits"),
            width_mm=t.get_int("width_mm", minimum=1, maximum=10_000),
            height_mm=t.get_int("height_mm", minimum=1, maximum=10_000),
            depth_mm=t.get_int("depth_mm", minimum=1, maximum=10_000),
        )
        t.check_unknown()
        earlier = [s.name for s in sizes]
        if size.name and size.name in earlier:
            where = f"sizes[{earlier.index(size.name)}]"
            t.problem("name", f"size {size.name!r} is already defined by {where}")
        elif sizes and 0 < _volume(size) <= _volume(sizes[-1]):
            smaller = f"size {size.name!r} must be larger than {sizes[-1].name!r} before it"
            t.problem("name", smaller + " (list sizes smallest first)")
        sizes.append(size)
    return tuple(sizes)


def _volume(size: SizeConfig) -> int:
    return size.width_mm * size.height_mm * size.depth_mm


def read_boards(top: Table) -> tuple[BoardConfig, ...]:
    tables = top.tables("boards")
    if not tables:
        top.problem("boards", "at least one [[boards]] table is required")
        return ()
    boards: list[BoardConfig] = []
    for t in tables:
        name = t.get_str("name", pattern=ID_PATTERN, rule=ID_RULE)
        driver = t.get_str("driver")
        power_group = t.get_str("power_group", "main", pattern=ID_PATTERN, rule=ID_RULE)
        options = _driver_options(t, driver, t.rest())
        earlier = [b.name for b in boards]
        if name and name in earlier:
            t.problem("name", f"board {name!r} is already defined by boards[{earlier.index(name)}]")
        boards.append(BoardConfig(name, driver, power_group, options))
    return tuple(boards)


def _driver_options(t: Table, driver: str, given: dict[str, Any]) -> dict[str, Any]:
    """``given`` checked against the driver's ``OPTIONS``, with its defaults filled in."""
    if not driver:
        return given
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
    top: Table, sizes: tuple[SizeConfig, ...], boards: tuple[BoardConfig, ...]
) -> tuple[CompartmentConfig, ...]:
    tables = top.tables("compartments")
    if not tables:
        top.problem("compartments", "at least one [[compartments]] table is required")
        return ()
    size_names = [s.name for s in sizes]
    board_names = [b.name for b in boards]
    ids: dict[str, int] = {}
    channels: dict[tuple[str, int], str] = {}
    result: list[CompartmentConfig] = []
    for i, t in enumerate(tables):
        c = CompartmentConfig(
            id=t.get_str("id", pattern=r"[A-Za-z0-9]{1,8}", rule="1-8 letters or digits"),
            size=t.get_str("size"),
            board=t.get_str("board"),
            lock=t.get_int("lock", minimum=1, maximum=64),
            accessible=t.get_bool("accessible", False),
            column=t.get_int("column", 0, minimum=0, maximum=64),
            row=t.get_int("row", 0, minimum=0, maximum=64),
        )
        t.check_unknown()
        if c.id in ids:
            t.problem("id", f"duplicate compartment id {c.id!r} (also compartments[{ids[c.id]}])")
        elif c.id:
            ids[c.id] = i
        if c.size and c.size not in size_names:
            t.problem("size", f"unknown size {c.size!r} (sizes: {', '.join(size_names)})")
        if c.board and c.board not in board_names:
            known = ", ".join(board_names) or "none"
            t.problem("board", f"board {c.board!r} is not defined in [[boards]] (boards: {known})")
        if c.lock and (c.board, c.lock) in channels:
            t.problem(
                "lock",
                f"lock {c.lock} of board {c.board!r} is already used by compartment "
                f"{channels[c.board, c.lock]}",
            )
        elif c.lock:
            channels[c.board, c.lock] = c.id
        result.append(c)
    return tuple(result)
