"""The bank's layout in a config: ``[[sizes]]``, ``[[boards]]`` and ``[[compartments]]``.

Sizes are listed smallest first, each larger than the one before. A board names its
driver, and its other keys are that driver's options, checked against the driver's
``OPTIONS`` with its defaults filled in. A compartment names a known size and a known
board, and no lock drives two compartments. Once every value has passed its type
checks, :func:`check_boards` builds (never opens) each board's driver, so what a
driver refuses is reported with the rest.
"""

from __future__ import annotations

from typing import Any

from drivers.base import create_driver, driver_class, known_drivers
from drivers.errors import DriverError
from kiosk.config_check import ID_PATTERN, ID_RULE, Problems, Table, suggest
from kiosk.config_model import DEFAULT_SIZES, BoardConfig, CompartmentConfig, Config, SizeConfig

__all__ = ["check_boards", "read_boards", "read_compartments", "read_sizes"]


def check_boards(config: Config, problems: Problems) -> None:
    """Build (not open) every board's driver; what its constructor refuses is a problem.

    A driver refuses at construction what it cannot be built from (a ``gpio`` board: a
    pin listed twice, a compartment on a lock without a pin). A driver that claims GPIO
    pins lists them in ``gpio_pins`` (``{bcm: use}``): the pins belong to the one Pi, so
    two boards claiming one pin are refused too. A driver whose bus runs at one speed
    (``one_baud_per_bus``: Modbus) refuses two boards on one port at different bauds.
    """
    claimed: dict[int, tuple[str, str]] = {}
    speeds: dict[tuple[str, str], tuple[str, int]] = {}
    for i, spec in enumerate(config.board_specs()):
        key = f"boards[{i}]"
        try:
            driver = create_driver(spec)
        except DriverError as exc:
            problems.add(key, str(exc).removeprefix(f"board {exc.board!r}: "))
            continue
        except Exception as exc:  # a driver's constructor may fail in any way; report it
            problems.add(key, f"driver {spec.driver!r} cannot be built: {exc}")
            continue
        if getattr(driver, "one_baud_per_bus", False):
            port, baud = str(getattr(driver, "port")), int(getattr(driver, "baud"))  # noqa: B009
            other, their_baud = speeds.setdefault((spec.driver, port), (spec.name, baud))
            if their_baud != baud:
                message = f"baud {baud} on port {port}, where board {other!r} has {their_baud}"
                problems.add(key, f"{message}: every board on one bus needs the same baud")
        for pin, use in dict(getattr(driver, "gpio_pins", {})).items():
            board, their_use = claimed.setdefault(pin, (spec.name, use))
            if board != spec.name:
                message = f"GPIO {pin} ({use}) is already used by board {board!r} ({their_use})"
                problems.add(key, message)


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
