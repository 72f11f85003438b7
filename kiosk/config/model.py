"""The kiosk's configuration as frozen dataclasses: what a loaded config holds.

:func:`kiosk.config.load_config` builds a :class:`Config` from the TOML file (every
default filled in, every problem reported); everything here may also be imported from
:mod:`kiosk.config`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.base import BoardSpec, ChannelSpec
from kiosk.access.throttle import ThrottleLimits
from kiosk.config.fleet import FleetSection
from kiosk.config.host import ClockSection, StorageSection
from kiosk.config.trace import TraceSection
from kiosk.domain import Role
from kiosk.errors import InvalidInput, LockerError, NotFound

MAX_PULSE_MS = 2000
"""The hard cap on a lock pulse; no config may ask for more."""


class ConfigError(LockerError):
    """The config cannot be used. ``problems`` holds one message per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class SizeConfig:
    name: str
    width_mm: int
    height_mm: int
    depth_mm: int


DEFAULT_SIZES = (
    SizeConfig("S", 440, 90, 600),
    SizeConfig("M", 440, 190, 600),
    SizeConfig("L", 440, 400, 600),
    SizeConfig("XL", 440, 620, 600),
)


@dataclass(frozen=True)
class KioskSection:
    id: str
    name: str
    data_dir: Path = Path("/var/lib/locker-kiosk")
    socket: Path = Path("/run/locker-kiosk/api.sock")
    languages: tuple[str, ...] = ("en",)
    operator_contact: str = ""
    name_by_language: Mapping[str, str] = field(default_factory=dict)
    """``name`` in each of ``languages`` (given once for all, or per language); ``name``
    itself is the English one where there is one, else the first language's: the words
    of the daemon, its notifications and lockerctl are English."""
    operator_contact_by_language: Mapping[str, str] = field(default_factory=dict)
    """``operator_contact`` in each of ``languages``, as ``name_by_language``."""


@dataclass(frozen=True)
class PolicySection:
    pickup_code_digits: int = 8
    hold_hours: float = 72.0
    reminder_hours: tuple[float, ...] = (24.0, 60.0)
    max_barcode_length: int = 64
    max_extend_hours: float = 72.0
    expiry_check_s: float = 60.0
    phone_region: str = ""  # national phone numbers are read in this region; "" = none


@dataclass(frozen=True)
class DoorsSection:
    open_timeout_s: float = 5.0
    open_retries: int = 1
    remind_after_s: float = 30.0
    left_open_after_s: float = 120.0
    reopen_after_pickup_s: float = 60.0  # a picked-up door may be opened again this long
    debounce_ms: float = 30.0
    debounce_polls: int = 3
    poll_hz: float = 10.0
    offline_after_misses: int = 3
    offline_after_s: float = 1.0
    offline_alarm_after_s: float = 10.0


@dataclass(frozen=True)
class LocksSection:
    pulse_ms: int = 500
    gap_ms: int = 150


@dataclass(frozen=True)
class SecuritySection:
    wrong_codes_before_lockout: int = 5
    lockout_initial_s: float = 30.0
    lockout_max_s: float = 1800.0
    bruteforce_alarm_per_hour: int = 20
    sign_in_failures_per_hour: int = 10
    courier_pin_digits: int = 6
    technician_pin_digits: int = 8
    session_idle_minutes: float = 10.0
    mass_open_max: int = 20
    mass_open_window_s: float = 60.0

    def code_limits(self) -> ThrottleLimits:
        """The pickup-code keypad's throttle."""
        return ThrottleLimits(
            free_attempts=self.wrong_codes_before_lockout,
            initial_lockout_s=self.lockout_initial_s,
            max_lockout_s=self.lockout_max_s,
            alarm_per_hour=self.bruteforce_alarm_per_hour,
        )

    def sign_in_limits(self) -> ThrottleLimits:
        """The sign-in throttle: the keypad's timeline and an hourly limit, as a right
        PIN clears the doubling and staff have one of their own."""
        return dataclasses.replace(
            self.code_limits(), failures_per_hour=self.sign_in_failures_per_hour
        )

    def pin_digits(self, role: Role) -> int:
        """The fewest digits a PIN of ``role`` may have."""
        if role is Role.TECHNICIAN:
            return self.technician_pin_digits
        return self.courier_pin_digits

    @property
    def shortest_pin_digits(self) -> int:
        """The fewest digits any PIN may have: a sign-in with fewer is refused unread."""
        return min(self.courier_pin_digits, self.technician_pin_digits)


@dataclass(frozen=True)
class UiSection:
    """What the touchscreen needs to know; it fetches this from the daemon."""

    idle_timeout_s: float = 60.0
    more_time_s: float = 30.0
    # A customer's door left open: the screen goes home after this long, naming the door
    door_open_grace_s: float = 60.0
    display_dpi: float = 133.0  # the official 7" display: 800 px over 152 mm
    large_text: bool = False
    key_sound: bool = False
    speech: str = "espeak-ng"  # spoken guidance: espeak-ng (where installed) | none
    speech_rate: int = 160  # words a minute (kiosk/ui/speech/espeak.py: DEFAULT_RATE)
    speech_on: bool = False  # speak to everyone, not only after the home screen's button


@dataclass(frozen=True)
class SimSection:
    """How ``locker-kiosk sim`` emulates the config's boards (the daemon ignores it).

    ``unlock_reply``: whether emulated Kerong boards answer an unlock (real boards may
    not: the driver takes either); ``--unlock-reply`` overrides it.
    """

    unlock_reply: bool = True


@dataclass(frozen=True)
class ScannerSection:
    """A barcode scanner the daemon reads (a keyboard-wedge scanner typing into the
    touchscreen window needs nothing here)."""

    backend: str = "none"  # none | evdev | serial
    device: str = ""
    baud: int = 9600


@dataclass(frozen=True)
class NotifySection:
    backend: str = "log"
    webhook_url: str = ""
    file_path: Path | None = None
    webhook_secret: str = ""
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = ""
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: str = ""
    retry_initial_s: float = 5.0
    retry_max_s: float = 3600.0
    max_attempts: int = 20
    outbox_keep_days: float = 30.0  # then delivered and given-up notifications are deleted


@dataclass(frozen=True)
class ApiSection:
    """The API's listeners: the Unix socket (``kiosk.socket``), the touchscreen's own
    socket, and a TCP listener, off unless ``tcp_listen`` is set (then TLS and a token).
    Every listener caps its connections and holds each client to the time-outs and
    sizes below (``kiosk/api/listeners/``)."""

    tcp_listen: str = ""  # "host:port"
    tls_cert: Path | None = None
    tls_key: Path | None = None
    token_file: Path | None = None
    rate_per_minute: int = 120
    max_connections: int = 64  # on kiosk.socket: lockerctl, scripts
    touchscreen_socket: Path = Path("/run/locker-kiosk/touchscreen.sock")
    touchscreen_group: str = "locker-ui"  # "": the daemon's own group (a demo)
    touchscreen_max_connections: int = 8
    tcp_max_connections: int = 32
    tcp_max_unauthenticated_per_client: int = 4
    tls_handshake_timeout_s: float = 5.0
    request_timeout_s: float = 10.0
    idle_timeout_s: int = 5
    max_header_bytes: int = 8192
    max_body_bytes: int = 65536

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.tcp_listen.rpartition(":")
        return host.strip("[]"), int(port)


@dataclass(frozen=True)
class BoardConfig:
    name: str
    driver: str
    power_group: str = "main"
    options: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class CompartmentConfig:
    id: str
    size: str
    board: str
    lock: int
    accessible: bool = False
    column: int = 0  # place on the wall picture; 0 = laid out automatically
    row: int = 0


@dataclass(frozen=True)
class Config:
    path: Path
    kiosk: KioskSection
    policy: PolicySection
    doors: DoorsSection
    locks: LocksSection
    security: SecuritySection
    notify: NotifySection
    sizes: tuple[SizeConfig, ...]
    boards: tuple[BoardConfig, ...]
    compartments: tuple[CompartmentConfig, ...]
    demo: bool = False
    ui: UiSection = UiSection()
    scanner: ScannerSection = ScannerSection()
    api: ApiSection = ApiSection()
    fleet: FleetSection = dataclasses.field(default_factory=FleetSection)
    clock: ClockSection = dataclasses.field(default_factory=ClockSection)
    storage: StorageSection = dataclasses.field(default_factory=StorageSection)
    trace: TraceSection = dataclasses.field(default_factory=TraceSection)
    sim: SimSection = SimSection()

    def size_names(self) -> tuple[str, ...]:
        """Size names, smallest first."""
        return tuple(size.name for size in self.sizes)

    def size_rank(self, name: str) -> int:
        """0 for the smallest size; :class:`InvalidInput` for an unknown name."""
        try:
            return self.size_names().index(name)
        except ValueError:
            raise InvalidInput(f"unknown size {name!r}") from None

    def compartment(self, compartment_id: str) -> CompartmentConfig:
        """The compartment with this id; :class:`NotFound` if there is none."""
        for compartment in self.compartments:
            if compartment.id == compartment_id:
                return compartment
        raise NotFound(f"no compartment {compartment_id!r}")

    def board_specs(self) -> list[BoardSpec]:
        """What each board's driver is built from; channels ordered by lock."""
        return [self._board_spec(board) for board in self.boards]

    def _board_spec(self, board: BoardConfig) -> BoardSpec:
        mine = sorted((c for c in self.compartments if c.board == board.name), key=lambda c: c.lock)
        return BoardSpec(
            name=board.name,
            driver=board.driver,
            channels=tuple(ChannelSpec(c.lock, c.id) for c in mine),
            power_group=board.power_group,
            options=dict(board.options),
            data_dir=self.kiosk.data_dir,
        )

    def with_data_dir(self, path: str | Path) -> Config:
        """The same config with another data dir; the API sockets move into it."""
        data_dir = Path(path)
        kiosk = dataclasses.replace(self.kiosk, data_dir=data_dir, socket=data_dir / "api.sock")
        api = dataclasses.replace(self.api, touchscreen_socket=data_dir / "touchscreen.sock")
        return dataclasses.replace(self, kiosk=kiosk, api=api)
