"""The kiosk's configuration: one TOML file, read and validated once at start.

:func:`load_config` either returns a complete :class:`Config` (every default filled
in, relative paths resolved against the file's directory) or raises
:class:`ConfigError` listing *every* problem found, one per line, each naming the
file, the key path and what is wrong::

    config/demo.toml: compartments[3].lock: lock 2 of board 'top' is already used by compartment A02
    config/demo.toml: kiosk.langauges: unknown key (did you mean 'languages'?)

Indices in key paths count from 0 (``compartments[0]`` is the first ``[[compartments]]``).

The schema a config is made of (frozen pydantic dataclasses, each setting declared
once with its default, range and description) lives in :mod:`kiosk.config.model` and
the modules of its sections (``api``, ``fleet``, ``host``, ``notify``, ``trace``); its
classes are imported from here as well. Each table is validated by pydantic and what it
refuses is told in the house's words (:mod:`kiosk.config.schema`); what several values
must agree on is checked after, here and in :mod:`kiosk.config.layout` (sizes, boards
and their drivers' options, compartments).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from kiosk import phones
from kiosk.access import bounds
from kiosk.config.api import UNIX_SOCKET_PATH_MAX, ApiSection, check_api, touchscreen_beside
from kiosk.config.check import ID_PATTERN, Problems, Table, describe, number, read_toml, suggest
from kiosk.config.fleet import FleetSection, check_fleet
from kiosk.config.host import ClockSection, StorageSection, check_clock
from kiosk.config.layout import check_boards, read_boards, read_compartments, read_sizes
from kiosk.config.model import (
    DEFAULT_SIZES,
    MAX_PULSE_MS,
    BoardConfig,
    CompartmentConfig,
    Config,
    ConfigError,
    DoorsSection,
    KioskSection,
    LocksSection,
    PolicySection,
    ScannerSection,
    SecuritySection,
    SimSection,
    SizeConfig,
    UiSection,
)
from kiosk.config.notify import NotifySection, check_notify
from kiosk.config.schema import validate_section
from kiosk.config.trace import TraceSection

__all__ = [
    "DEFAULT_SIZES",
    "MAX_PULSE_MS",
    "ApiSection",
    "BoardConfig",
    "ClockSection",
    "CompartmentConfig",
    "Config",
    "ConfigError",
    "DoorsSection",
    "FleetSection",
    "KioskSection",
    "LocksSection",
    "NotifySection",
    "PolicySection",
    "ScannerSection",
    "SecuritySection",
    "SimSection",
    "SizeConfig",
    "StorageSection",
    "TraceSection",
    "UiSection",
    "load_config",
]

_TOP = [field.name for field in dataclasses.fields(Config) if field.name != "path"]
"""The file's top-level keys, in the order they are read (and reported)."""


def load_config(path: str | Path) -> Config:
    """Read and validate the config at ``path``; :class:`ConfigError` lists every problem."""
    problems = Problems(str(path))
    raw = read_toml(Path(path), problems)
    if raw is None:
        raise ConfigError(problems.messages)
    config = _build(raw, Path(path).absolute(), problems)
    if config is not None and not problems:  # a driver is built only from checked options
        check_boards(config, problems)
    if problems or config is None:
        raise ConfigError(problems.messages)
    return config


def _build(raw: dict[str, Any], path: Path, problems: Problems) -> Config | None:
    base = path.parent
    demo = raw.get("demo", False)
    if not isinstance(demo, bool):
        problems.add("demo", f"must be true or false, got {describe(demo)}")
    kiosk = _read_kiosk(raw, base, problems)
    policy = _read_policy(raw, base, problems)
    doors = _section(DoorsSection, raw, "doors", problems, base)
    if doors.left_open_after_s <= doors.remind_after_s:
        problems.add(
            "doors.left_open_after_s",
            f"must be greater than remind_after_s ({number(doors.remind_after_s)}), "
            f"got {number(doors.left_open_after_s)}",
        )
    locks = _section(LocksSection, raw, "locks", problems, base)
    security = _section(SecuritySection, raw, "security", problems, base)
    if security.lockout_max_s < security.lockout_initial_s:
        problems.add(
            "security.lockout_max_s",
            f"must be at least lockout_initial_s ({number(security.lockout_initial_s)}), "
            f"got {number(security.lockout_max_s)}",
        )
    notify = _section(NotifySection, raw, "notify", problems, base)
    check_notify(notify, demo is True, problems)
    sizes = read_sizes(raw, problems, base)
    boards = read_boards(raw, problems, base)
    compartments = read_compartments(raw, problems, base, sizes, boards)
    _check_guessing(raw.get("security"), security, policy, len(compartments), problems)
    ui = _section(UiSection, raw, "ui", problems, base)
    scanner = _section(ScannerSection, raw, "scanner", problems, base)
    if scanner.backend != "none" and not scanner.device:
        problems.add("scanner.device", f"is required when backend = {scanner.backend!r}")
    api_raw = raw.get("api", {})
    if isinstance(api_raw, dict):
        api_raw = touchscreen_beside(api_raw, kiosk.socket)
    api = _section(ApiSection, {"api": api_raw}, "api", problems, base)
    check_api(api, kiosk.socket, problems)
    fleet = _validated(FleetSection, raw, "fleet", problems, base)
    if fleet is not None and raw.get("fleet"):  # no [fleet] table: no link
        check_fleet(fleet, kiosk.id, problems)
    clock = _section(ClockSection, raw, "clock", problems, base)
    check_clock(clock, problems)
    storage = _section(StorageSection, raw, "storage", problems, base)
    trace = _section(TraceSection, raw, "trace", problems, base)
    sim = _section(SimSection, raw, "sim", problems, base)
    for name in raw:
        if name not in _TOP:
            problems.add(name, "unknown key" + suggest(name, _TOP))
    if problems:
        return None
    return Config(
        path=path, demo=demo, kiosk=kiosk, policy=policy, doors=doors, locks=locks,
        security=security, notify=notify, sizes=sizes, boards=boards,
        compartments=compartments, ui=ui, scanner=scanner, api=api,
        clock=clock, storage=storage, trace=trace, sim=sim, fleet=fleet or FleetSection(),
    )  # fmt: skip


S = TypeVar("S")


def _section(cls: type[S], raw: Mapping[str, Any], name: str, problems: Problems, base: Path) -> S:
    """The table ``name`` of ``raw`` as a ``cls``; its defaults where it is left out or
    wrong (the problems recorded), so that reading goes on."""
    section = _validated(cls, raw, name, problems, base)
    return cls() if section is None else section


def _validated(
    cls: type[S], raw: Mapping[str, Any], name: str, problems: Problems, base: Path
) -> S | None:
    """The table ``name`` of ``raw`` as a ``cls``; ``None`` where it is wrong."""
    table = raw.get(name, {})
    if not isinstance(table, dict):
        problems.add(name, f"must be a table, got {describe(table)}")
        return None
    return validate_section(cls, table, name, problems, base)


def _read_kiosk(raw: Mapping[str, Any], base: Path, problems: Problems) -> KioskSection:
    table = raw.get("kiosk")
    if table is None:
        problems.add("kiosk", "missing (required): the file needs a [kiosk] table")
        table = {}
    elif not isinstance(table, dict):
        problems.add("kiosk", f"must be a table, got {describe(table)}")
        table = {}
    texts = {name: table[name] for name in _BY_LANGUAGE if name in table}
    rest = {name: value for name, value in table.items() if name not in _BY_LANGUAGE}
    checked = validate_section(KioskSection, rest, "kiosk", problems, base) if table else None
    kiosk = checked or _placeholder(rest)
    if not kiosk.languages:
        problems.add("kiosk.languages", "must name at least one language")
    if len(str(kiosk.socket).encode()) > UNIX_SOCKET_PATH_MAX:
        message = f"path is too long for a Unix socket ({UNIX_SOCKET_PATH_MAX} bytes)"
        problems.add("kiosk.socket", message)
    t = Table(texts, "kiosk", problems)
    names = t.get_by_language("name", kiosk.id, kiosk.languages)
    contacts = t.get_by_language("operator_contact", "", kiosk.languages)
    return dataclasses.replace(
        kiosk,
        name=_in_english(names, kiosk.languages, kiosk.id),
        operator_contact=_in_english(contacts, kiosk.languages, ""),
        name_by_language=names,
        operator_contact_by_language=contacts,
    ) if checked else kiosk  # fmt: skip


_BY_LANGUAGE = ("name", "operator_contact")


def _placeholder(table: Mapping[str, Any]) -> KioskSection:
    """A kiosk to read the rest of the file with when ``[kiosk]`` itself is wrong."""
    kiosk_id = table.get("id")
    if isinstance(kiosk_id, str) and re.fullmatch(ID_PATTERN, kiosk_id):
        return KioskSection(id=kiosk_id)
    return KioskSection(id="KIOSK")


def _in_english(texts: Mapping[str, str], languages: tuple[str, ...], default: str) -> str:
    """The text of a per-language setting for the daemon's own (English) words."""
    return texts.get("en") or (texts.get(languages[0], default) if languages else default)


def _read_policy(raw: Mapping[str, Any], base: Path, problems: Problems) -> PolicySection:
    policy = _section(PolicySection, raw, "policy", problems, base)
    table = raw.get("policy")
    hold = policy.hold_hours
    reminders = policy.reminder_hours
    if not (isinstance(table, dict) and "reminder_hours" in table):
        reminders = tuple(hours for hours in reminders if hours < hold)  # those before expiry
    for i, hours in enumerate(reminders):
        if hours >= hold:
            problems.add(
                f"policy.reminder_hours[{i}]",
                f"must be less than hold_hours ({number(hold)}), got {number(hours)}",
            )
    _check_phone_region(policy.phone_region, problems)
    return dataclasses.replace(policy, reminder_hours=tuple(sorted(reminders)))


def _check_phone_region(region: str, problems: Problems) -> None:
    """A region libphonenumber knows (``DE``), or "" for none: then every phone number
    needs its country code (a guessed country would send codes to strangers)."""
    if not region or phones.is_region(region):
        return
    if phones.is_region(region.upper()):
        hint = f" (did you mean {region.upper()!r}?)"
    elif region.upper() == "UK":
        hint = " (the United Kingdom is 'GB')"
    else:
        hint = ""
    problems.add(
        "policy.phone_region",
        f"{describe(region)} is not a region phone numbers are known for: an ISO 3166 "
        f"code like 'DE' or 'AT', or \"\" for none{hint}",
    )


_CODE_THROTTLE = ("wrong_codes_before_lockout", "lockout_initial_s", "lockout_max_s")
_SIGN_IN_THROTTLE = ("sign_in_failures_per_hour", "courier_pin_digits", "technician_pin_digits")


def _check_guessing(
    table: object,
    security: SecuritySection,
    policy: PolicySection,
    compartments: int,
    problems: Problems,
) -> None:
    """Refuse throttle settings that give 30 days of guessing at the screen more than a
    1 % chance (kiosk/access/bounds.py, docs/security.md); one line each, with the figure."""
    given = table if isinstance(table, dict) else {}
    try:
        code_limits, sign_in_limits = security.code_limits(), security.sign_in_limits()
    except ValueError:
        return  # a setting out of range, reported on its own
    live, digits = max(compartments, 1), policy.pickup_code_digits
    code = bounds.code_bound(code_limits, digits, live)
    if code.too_high:
        set_here = [f"security.{name}" for name in _CODE_THROTTLE if name in given]
        problems.add(
            (set_here or ["policy.pickup_code_digits"])[0],
            f"these settings let a guesser try {code.guesses:,} pickup codes in "
            f"{bounds.DAYS} days: with {live} live parcels (one per compartment) among "
            f"{digits}-digit codes that is a {code.percent} chance to open a door, above "
            "1 %; lengthen the lockouts or use longer codes (docs/security.md)",
        )
    pin_digits = security.shortest_pin_digits
    staff = bounds.sign_in_bound(sign_in_limits, pin_digits)
    if staff.too_high:
        set_here = [name for name in _SIGN_IN_THROTTLE if name in given]
        problems.add(
            "security." + (set_here or list(_SIGN_IN_THROTTLE))[0],
            f"these settings let a guesser try {staff.guesses:,} sign-ins in {bounds.DAYS} "
            f"days: with {pin_digits}-digit PINs that is a {staff.percent} chance to sign "
            "in as somebody, above 1 %; lower sign_in_failures_per_hour or ask for longer "
            "PINs (docs/security.md)",
        )
