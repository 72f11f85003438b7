"""The kiosk's configuration: one TOML file, read and validated once at start.

:func:`load_config` either returns a complete :class:`Config` (every default filled
in, relative paths resolved against the file's directory) or raises
:class:`ConfigError` listing *every* problem found, one per line, each naming the
file, the key path and what is wrong::

    config/demo.toml: compartments[3].lock: lock 2 of board 'top' is already used by compartment A02
    config/demo.toml: kiosk.langauges: unknown key (did you mean 'languages'?)

Indices in key paths count from 0 (``compartments[0]`` is the first ``[[compartments]]``).

The dataclasses a config is made of live in :mod:`kiosk.config.model`; they are
imported from here as well. The bank's layout (sizes, boards and their drivers'
options, compartments) is read by :mod:`kiosk.config.layout`, ``[api]`` by
:mod:`kiosk.config.api`, ``[fleet]`` by :mod:`kiosk.config.fleet`.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kiosk import phones
from kiosk.access import bounds
from kiosk.config.api import UNIX_SOCKET_PATH_MAX as _UNIX_SOCKET_PATH_MAX
from kiosk.config.api import read_api
from kiosk.config.check import ID_PATTERN, ID_RULE, Problems, Table, describe, number, read_toml
from kiosk.config.fleet import FleetSection, read_fleet
from kiosk.config.host import ClockSection, StorageSection, read_clock, read_storage
from kiosk.config.layout import check_boards, read_boards, read_compartments, read_sizes
from kiosk.config.model import (
    DEFAULT_SIZES,
    MAX_PULSE_MS,
    ApiSection,
    BoardConfig,
    CompartmentConfig,
    Config,
    ConfigError,
    DoorsSection,
    KioskSection,
    LocksSection,
    NotifySection,
    PolicySection,
    ScannerSection,
    SecuritySection,
    SimSection,
    SizeConfig,
    UiSection,
)
from kiosk.config.trace import TraceSection, read_trace
from kiosk.protocol.languages import available_languages

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

NOTIFY_BACKENDS = ("log", "webhook", "smtp", "file")


def load_config(path: str | Path) -> Config:
    """Read and validate the config at ``path``; :class:`ConfigError` lists every problem."""
    problems = Problems(str(path))
    raw = read_toml(Path(path), problems)
    if raw is None:
        raise ConfigError(problems.messages)
    config = _build(raw, Path(path).absolute(), problems)
    if not problems:  # a driver is built only from options that passed their type checks
        check_boards(config, problems)
    if problems:
        raise ConfigError(problems.messages)
    return config


def _build(raw: dict[str, Any], path: Path, problems: Problems) -> Config:
    top = Table(raw, "", problems)
    demo = top.get_bool("demo", False)
    if top.has("kiosk"):
        kiosk = _read_kiosk(top.table("kiosk"), path.parent)
    else:
        top.problem("kiosk", "missing (required): the file needs a [kiosk] table")
        kiosk = KioskSection(id="", name="")
    policy = _read_policy(top.table("policy"))
    doors = _read_doors(top.table("doors"))
    locks = _read_locks(top.table("locks"))
    security = _read_security(top.table("security"))
    notify = _read_notify(top.table("notify"), demo)
    sizes = read_sizes(top)
    boards = read_boards(top)
    compartments = read_compartments(top, sizes, boards)
    _check_guessing(top.table("security"), security, policy, len(compartments))
    ui = _read_ui(top.table("ui"))
    scanner = _read_scanner(top.table("scanner"))
    api = read_api(top.table("api"), path.parent, kiosk.socket)
    fleet = read_fleet(top.table("fleet"), path.parent, kiosk.id)
    clock = read_clock(top.table("clock"), path.parent)
    storage = read_storage(top.table("storage"))
    trace = read_trace(top.table("trace"), path.parent)
    sim = _read_sim(top.table("sim"))
    top.check_unknown()
    return Config(
        path,
        kiosk,
        policy,
        doors,
        locks,
        security,
        notify,
        sizes,
        boards,
        compartments,
        demo,
        ui,
        scanner,
        api,
        fleet,
        clock,
        storage,
        trace,
        sim,
    )


def _read_sim(t: Table) -> SimSection:
    """``[sim]``: what ``locker-kiosk sim`` makes of the emulated boards."""
    section = SimSection(unlock_reply=t.get_bool("unlock_reply", True))
    t.check_unknown()
    return section


def _read_scanner(t: Table) -> ScannerSection:
    section = ScannerSection(
        backend=t.get_str("backend", "none", choices=("none", "evdev", "serial")),
        device=t.get_str("device", ""),
        baud=t.get_int("baud", 9600, minimum=1200, maximum=921600),
    )
    if section.backend != "none" and not section.device:
        t.problem("device", f"is required when backend = {section.backend!r}")
    t.check_unknown()
    return section


def _read_ui(t: Table) -> UiSection:
    section = UiSection(
        idle_timeout_s=t.get_float("idle_timeout_s", 60.0, minimum=10, maximum=600),
        more_time_s=t.get_float("more_time_s", 30.0, minimum=20, maximum=120),
        door_open_grace_s=t.get_float("door_open_grace_s", 60.0, minimum=10, maximum=600),
        display_dpi=t.get_float("display_dpi", 133.0, minimum=50, maximum=600),
        large_text=t.get_bool("large_text", False),
        key_sound=t.get_bool("key_sound", False),
        # kiosk/ui/speech, whose names these are, is not imported: it would bring pygame
        # into the daemon (tests/unit/test_speech_phrases.py holds the two together)
        speech=t.get_str("speech", "espeak-ng", choices=("espeak-ng", "none")),
        speech_rate=t.get_int("speech_rate", 160, minimum=80, maximum=450),
        speech_on=t.get_bool("speech_on", False),
    )
    t.check_unknown()
    return section


def _read_kiosk(t: Table, base: Path) -> KioskSection:
    kiosk_id = t.get_str("id", pattern=ID_PATTERN, rule=ID_RULE)
    languages = t.get_list("languages", ("en",), lambda key, v: _language(t, key, v))
    names = t.get_by_language("name", kiosk_id, languages)
    contacts = t.get_by_language("operator_contact", "", languages)
    section = KioskSection(
        id=kiosk_id,
        name=_in_english(names, languages, kiosk_id),
        data_dir=_path(t, "data_dir", KioskSection.data_dir, base),
        socket=_path(t, "socket", KioskSection.socket, base),
        languages=languages,
        operator_contact=_in_english(contacts, languages, ""),
        name_by_language=names,
        operator_contact_by_language=contacts,
    )
    if not section.languages:
        t.problem("languages", "must name at least one language")
    if len(str(section.socket).encode()) > _UNIX_SOCKET_PATH_MAX:
        t.problem("socket", f"path is too long for a Unix socket ({_UNIX_SOCKET_PATH_MAX} bytes)")
    t.check_unknown()
    return section


def _in_english(texts: dict[str, str], languages: tuple[str, ...], default: str) -> str:
    """The text of a per-language setting for the daemon's own (English) words."""
    return texts.get("en") or (texts.get(languages[0], default) if languages else default)


def _path(t: Table, name: str, default: Path, base: Path) -> Path:
    text = t.get_str(name, str(default))
    if not text:
        t.problem(name, "must not be empty")
        return default
    return base / text  # an absolute ``text`` replaces ``base``


def _language(t: Table, key: str, value: object) -> str | None:
    """A language the touchscreen has a catalog for (``kiosk/ui/locale``; English is built in)."""
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", value):
        t.problems.add(key, f"must be a language code like 'en' or 'pt-BR', got {describe(value)}")
        return None
    available = available_languages()
    if value not in available:
        t.problems.add(
            key,
            f"the touchscreen has no translation for {value!r} (it has: {', '.join(available)})",
        )
        return None
    return value


def _read_policy(t: Table) -> PolicySection:
    hold = t.get_float("hold_hours", 72.0, above=0, maximum=24 * 60)
    section = PolicySection(
        pickup_code_digits=t.get_int("pickup_code_digits", 8, minimum=6, maximum=12),
        hold_hours=hold,
        reminder_hours=t.get_list(
            "reminder_hours", (24.0, 60.0), lambda key, v: t.check_float(key, v, above=0)
        ),
        max_barcode_length=t.get_int("max_barcode_length", 64, minimum=8, maximum=256),
        max_extend_hours=t.get_float("max_extend_hours", 72.0, minimum=0, maximum=24 * 30),
        expiry_check_s=t.get_float("expiry_check_s", 60.0, minimum=0.1, maximum=3600),
        phone_region=_phone_region(t),
    )
    if not t.has("reminder_hours"):  # the default reminders are those before expiry
        reminders = tuple(hours for hours in section.reminder_hours if hours < hold)
        section = dataclasses.replace(section, reminder_hours=reminders)
    for i, hours in enumerate(section.reminder_hours):
        if hours >= hold:
            t.problem(
                f"reminder_hours[{i}]",
                f"must be less than hold_hours ({number(hold)}), got {number(hours)}",
            )
    t.check_unknown()
    return dataclasses.replace(section, reminder_hours=tuple(sorted(section.reminder_hours)))


def _phone_region(t: Table) -> str:
    """A region libphonenumber knows (``DE``), or "" for none: then every phone number
    needs its country code (a guessed country would send codes to strangers)."""
    region = t.get_str("phone_region", "")
    if not region or phones.is_region(region):
        return region
    if phones.is_region(region.upper()):
        hint = f" (did you mean {region.upper()!r}?)"
    elif region.upper() == "UK":
        hint = " (the United Kingdom is 'GB')"
    else:
        hint = ""
    t.problem(
        "phone_region",
        f"{describe(region)} is not a region phone numbers are known for: an ISO 3166 "
        f"code like 'DE' or 'AT', or \"\" for none{hint}",
    )
    return ""


def _read_doors(t: Table) -> DoorsSection:
    remind = t.get_float("remind_after_s", 30.0, above=0)
    section = DoorsSection(
        open_timeout_s=t.get_float("open_timeout_s", 5.0, minimum=0.5, maximum=60),
        open_retries=t.get_int("open_retries", 1, minimum=0, maximum=3),
        remind_after_s=remind,
        left_open_after_s=t.get_float("left_open_after_s", 120.0, above=0),
        reopen_after_pickup_s=t.get_float("reopen_after_pickup_s", 60.0, minimum=0, maximum=600),
        debounce_ms=t.get_float("debounce_ms", 30.0, minimum=0, maximum=1000),
        debounce_polls=t.get_int("debounce_polls", 3, minimum=1, maximum=20),
        poll_hz=t.get_float("poll_hz", 10.0, minimum=0.5, maximum=100),
        offline_after_misses=t.get_int("offline_after_misses", 3, minimum=1, maximum=100),
        offline_after_s=t.get_float("offline_after_s", 1.0, minimum=0, maximum=60),
        offline_alarm_after_s=t.get_float("offline_alarm_after_s", 10.0, minimum=0, maximum=3600),
    )
    if section.left_open_after_s <= remind:
        t.problem(
            "left_open_after_s",
            f"must be greater than remind_after_s ({number(remind)}), "
            f"got {number(section.left_open_after_s)}",
        )
    t.check_unknown()
    return section


def _read_locks(t: Table) -> LocksSection:
    section = LocksSection(
        pulse_ms=t.get_int("pulse_ms", 500, minimum=50, maximum=MAX_PULSE_MS, cap="the hard cap"),
        gap_ms=t.get_int("gap_ms", 150, minimum=0, maximum=5000),
    )
    t.check_unknown()
    return section


def _read_security(t: Table) -> SecuritySection:
    initial = t.get_float("lockout_initial_s", 30.0, minimum=1)
    section = SecuritySection(
        wrong_codes_before_lockout=t.get_int(
            "wrong_codes_before_lockout", 5, minimum=1, maximum=20
        ),
        lockout_initial_s=initial,
        lockout_max_s=t.get_float("lockout_max_s", 1800.0, minimum=1),
        bruteforce_alarm_per_hour=t.get_int("bruteforce_alarm_per_hour", 20, minimum=1),
        sign_in_failures_per_hour=t.get_int(
            "sign_in_failures_per_hour", 10, minimum=1, maximum=3600
        ),
        courier_pin_digits=t.get_int("courier_pin_digits", 6, minimum=4, maximum=12),
        technician_pin_digits=t.get_int("technician_pin_digits", 8, minimum=4, maximum=12),
        session_idle_minutes=t.get_float("session_idle_minutes", 10.0, minimum=1, maximum=240),
        mass_open_max=t.get_int("mass_open_max", 20, minimum=1, maximum=100_000),
        mass_open_window_s=t.get_float("mass_open_window_s", 60.0, minimum=1, maximum=86400),
    )
    if section.lockout_max_s < initial:
        t.problem(
            "lockout_max_s",
            f"must be at least lockout_initial_s ({number(initial)}), "
            f"got {number(section.lockout_max_s)}",
        )
    t.check_unknown()
    return section


_CODE_THROTTLE = ("wrong_codes_before_lockout", "lockout_initial_s", "lockout_max_s")
_SIGN_IN_THROTTLE = ("sign_in_failures_per_hour", "courier_pin_digits", "technician_pin_digits")


def _check_guessing(
    t: Table, security: SecuritySection, policy: PolicySection, compartments: int
) -> None:
    """Refuse throttle settings that give 30 days of guessing at the screen more than a
    1 % chance (kiosk/access/bounds.py, docs/security.md); one line each, with the figure."""
    try:
        code_limits, sign_in_limits = security.code_limits(), security.sign_in_limits()
    except ValueError:
        return  # a setting out of range, reported on its own
    live, digits = max(compartments, 1), policy.pickup_code_digits
    code = bounds.code_bound(code_limits, digits, live)
    if code.too_high:
        set_here = [t.key(name) for name in _CODE_THROTTLE if t.has(name)]
        t.problems.add(
            (set_here or ["policy.pickup_code_digits"])[0],
            f"these settings let a guesser try {code.guesses:,} pickup codes in "
            f"{bounds.DAYS} days: with {live} live parcels (one per compartment) among "
            f"{digits}-digit codes that is a {code.percent} chance to open a door, above "
            "1 %; lengthen the lockouts or use longer codes (docs/security.md)",
        )
    pin_digits = security.shortest_pin_digits
    staff = bounds.sign_in_bound(sign_in_limits, pin_digits)
    if staff.too_high:
        set_here = [name for name in _SIGN_IN_THROTTLE if t.has(name)]
        t.problem(
            (set_here or list(_SIGN_IN_THROTTLE))[0],
            f"these settings let a guesser try {staff.guesses:,} sign-ins in {bounds.DAYS} "
            f"days: with {pin_digits}-digit PINs that is a {staff.percent} chance to sign "
            "in as somebody, above 1 %; lower sign_in_failures_per_hour or ask for longer "
            "PINs (docs/security.md)",
        )


def _read_notify(t: Table, demo: bool) -> NotifySection:
    backend = t.get_str("backend", "log", choices=NOTIFY_BACKENDS)
    if backend == "file" and not demo:
        t.problem(
            "backend",
            "'file' writes pickup codes in plain text: it is for the demo and tests only "
            "(demo = true at the top of the file); a kiosk with customers uses 'webhook' or "
            "'smtp'",
        )
    webhook, smtp, file = t.table("webhook"), t.table("smtp"), t.table("file")
    initial = t.get_float("retry_initial_s", 5.0, above=0)
    section = NotifySection(
        backend=backend,
        webhook_url=webhook.get_str("url", ""),
        file_path=_file_path(backend, file),
        webhook_secret=webhook.get_str("secret", ""),
        smtp_host=smtp.get_str("host", ""),
        smtp_port=smtp.get_int("port", 25, minimum=1, maximum=65535),
        smtp_from=smtp.get_str("from", ""),
        smtp_starttls=smtp.get_bool("starttls", False),
        smtp_username=smtp.get_str("username", ""),
        smtp_password=smtp.get_str("password", ""),
        retry_initial_s=initial,
        retry_max_s=t.get_float("retry_max_s", 3600.0, above=0),
        max_attempts=t.get_int("max_attempts", 20, minimum=1),
        outbox_keep_days=t.get_float("outbox_keep_days", 30.0, minimum=0, maximum=3650),
    )
    if section.retry_max_s < initial:
        t.problem("retry_max_s", f"must be at least retry_initial_s ({number(initial)})")
    _check_backend(section, webhook, smtp)
    for table in (webhook, smtp, file, t):
        table.check_unknown()
    return section


def _file_path(backend: str, file: Table) -> Path | None:
    """``[notify.file] path``: a simulated recipients' inbox (demo and tests only)."""
    raw = file.get_str("path", "")
    if backend != "file":
        return Path(raw) if raw else None
    if not raw:
        file.problem("path", "is required when backend = 'file'")
        return None
    return Path(raw)


def _check_backend(section: NotifySection, webhook: Table, smtp: Table) -> None:
    if section.backend == "webhook":
        url = urlsplit(section.webhook_url)
        if url.scheme not in ("http", "https") or not url.netloc:
            webhook.problem("url", "must be an http:// or https:// URL when backend = 'webhook'")
        if not section.webhook_secret:
            webhook.problem("secret", "is required when backend = 'webhook'")
    if section.backend == "smtp":
        if not section.smtp_host:
            smtp.problem("host", "is required when backend = 'smtp'")
        if not section.smtp_from:
            smtp.problem("from", "is required when backend = 'smtp'")
