"""The kiosk's configuration: one schema, whose sections are frozen pydantic dataclasses.

Each setting is declared once, here (or in the module of its section): its type, its
default, its range and its description. :func:`kiosk.config.load_config` validates the
TOML file against these classes (every problem reported at once), JSON Schema is made
from them (``locker-kiosk config-schema``), and so is ``config/example-full.toml``.
Everything here may also be imported from :mod:`kiosk.config`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

from drivers.base import BoardSpec, ChannelSpec
from kiosk.access.throttle import ThrottleLimits
from kiosk.config.api import ApiSection
from kiosk.config.check import ID_PATTERN, ID_RULE, describe
from kiosk.config.fleet import FleetSection
from kiosk.config.host import ClockSection, StorageSection
from kiosk.config.notify import NotifySection
from kiosk.config.schema import SECTION, Bool, Cap, File, Float, Int, Rule, Str
from kiosk.config.trace import TraceSection
from kiosk.domain import Role
from kiosk.errors import InvalidInput, LockerError, NotFound
from kiosk.protocol.languages import available_languages

MAX_PULSE_MS = 2000
"""The hard cap on a lock pulse; no config may ask for more."""

Identifier = Annotated[Str, Field(pattern=f"^{ID_PATTERN}$"), Rule(ID_RULE)]
ShortName = Annotated[Str, Field(pattern=r"^[A-Za-z0-9]{1,8}$"), Rule("1-8 letters or digits")]
ByLanguage = Annotated[
    str,
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string"},
                {"type": "object", "additionalProperties": {"type": "string"}},
            ]
        }
    ),
]
"""A text given once for every language, or per language (``{en = "...", de = "..."}``)."""


def _language(value: object) -> object:
    """A language the touchscreen has a catalog for (``kiosk/ui/locale``; English is built in)."""
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", value):
        raise ValueError(f"must be a language code like 'en' or 'pt-BR', got {describe(value)}")
    available = available_languages()
    if value not in available:
        message = (
            f"the touchscreen has no translation for {value!r} (it has: {', '.join(available)})"
        )
        raise ValueError(message)
    return value


Language = Annotated[str, BeforeValidator(_language)]
Hours = Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)]


class ConfigError(LockerError):
    """The config cannot be used. ``problems`` holds one message per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class SizeConfig:
    """A compartment size; inner dimensions in millimetres."""

    __pydantic_config__ = SECTION

    name: Annotated[ShortName, Field(description="unique; compartments refer to it")]
    width_mm: Annotated[Int, Field(ge=1, le=10_000)]
    height_mm: Annotated[Int, Field(ge=1, le=10_000)]
    depth_mm: Annotated[Int, Field(ge=1, le=10_000)]


DEFAULT_SIZES = (
    SizeConfig("S", 440, 90, 600),
    SizeConfig("M", 440, 190, 600),
    SizeConfig("L", 440, 400, 600),
    SizeConfig("XL", 440, 620, 600),
)


@dataclass(frozen=True)
class KioskSection:
    """Who the kiosk is and where it keeps its data.

    ``name`` and ``operator_contact`` may instead be given per language, a text for each
    of ``languages`` (and only those): ``name = { en = "Main Street 1", de = "Hauptstraße
    1" }``. The daemon's own words (notifications, lockerctl) use the English one, else the
    first."""

    __pydantic_config__ = SECTION

    id: Annotated[Identifier, Field(description=f"required; {ID_RULE}", examples=["KIOSK-01"])]
    name: Annotated[ByLanguage, Field(description="shown on screen; defaults to the id")] = ""
    data_dir: Annotated[File, Field(description="database, event log, keys")] = Path(
        "/var/lib/locker-kiosk"
    )
    socket: Annotated[
        File, Field(description="local API (Unix socket) for the screen and lockerctl")
    ] = Path("/run/locker-kiosk/api.sock")
    languages: Annotated[
        tuple[Language, ...],
        Field(description="screen languages (those translated: en, de); the first is the default"),
    ] = ("en",)
    operator_contact: Annotated[
        ByLanguage, Field(description="the help line on every screen, e.g. a phone number")
    ] = ""
    name_by_language: Annotated[SkipJsonSchema[Mapping[str, str]], Field(exclude=True)] = (
        dataclasses.field(default_factory=dict)
    )
    """``name`` in each of ``languages`` (given once for all, or per language); ``name``
    itself is the English one where there is one, else the first language's: the words
    of the daemon, its notifications and lockerctl are English."""
    operator_contact_by_language: Annotated[
        SkipJsonSchema[Mapping[str, str]], Field(exclude=True)
    ] = dataclasses.field(default_factory=dict)
    """``operator_contact`` in each of ``languages``, as ``name_by_language``."""


@dataclass(frozen=True)
class PolicySection:
    """How long parcels are held and how their codes look."""

    __pydantic_config__ = SECTION

    pickup_code_digits: Annotated[
        Int, Field(ge=6, le=12, description="length of a pickup code")
    ] = 8
    hold_hours: Annotated[
        Float,
        Field(gt=0, le=24 * 60, description="then the parcel expires and goes back to the sender"),
    ] = 72.0
    reminder_hours: Annotated[
        tuple[Hours, ...],
        Field(
            description="hours after storing; each less than hold_hours; [] for none (left out: "
            "those of 24 and 60 that come before expiry)"
        ),
    ] = (24.0, 60.0)
    max_barcode_length: Annotated[
        Int, Field(ge=8, le=256, description="longest tracking barcode accepted")
    ] = 64
    max_extend_hours: Annotated[
        Float,
        Field(
            ge=0,
            le=24 * 30,
            description="the most a hold may be extended by, all extensions together (0 = holds "
            "cannot be extended)",
        ),
    ] = 72.0
    expiry_check_s: Annotated[
        Float,
        Field(
            ge=0.1,
            le=3600,
            description="how often expiry and reminders are checked (also at start)",
        ),
    ] = 60.0
    phone_region: Annotated[
        Str,
        Field(
            description='where a national phone number (0151 ...) is read: a region code like "DE" '
            'or "AT"; "" = none, so every number needs its country code (+49 ...). Numbers are '
            "stored and sent as +4915112345678"
        ),
    ] = ""


@dataclass(frozen=True)
class DoorsSection:
    """How the closed loop watches a door."""

    __pydantic_config__ = SECTION

    open_timeout_s: Annotated[
        Float,
        Field(
            ge=0.5,
            le=60,
            description="unlock counts as failed if the door is not seen open by then",
        ),
    ] = 5.0
    open_retries: Annotated[
        Int, Field(ge=0, le=3, description="extra unlock pulses when the door did not open")
    ] = 1
    remind_after_s: Annotated[
        Float, Field(gt=0, description="screen asks the person to close the door after this")
    ] = 30.0
    left_open_after_s: Annotated[
        Float,
        Field(gt=0, description="then the door is reported LEFT_OPEN (must exceed remind_after_s)"),
    ] = 120.0
    reopen_after_pickup_s: Annotated[
        Float,
        Field(
            ge=0,
            le=600,
            description="after a pickup the customer may open the door again this long; the "
            "compartment is handed to nobody meanwhile (0: never)",
        ),
    ] = 60.0
    debounce_ms: Annotated[
        Float, Field(ge=0, le=1000, description="a sensor change must hold this long")
    ] = 30.0
    debounce_polls: Annotated[
        Int,
        Field(
            ge=1,
            le=20,
            description="... and for this many polls in a row (a sensor flapping near the poll "
            "rate fooled 2 polls / 30 ms)",
        ),
    ] = 3
    poll_hz: Annotated[Float, Field(ge=0.5, le=100, description="sensor polls per second")] = 10.0
    offline_after_misses: Annotated[
        Int,
        Field(
            ge=1,
            le=100,
            description="a board counts as offline after this many failed polls in a row ...",
        ),
    ] = 3
    offline_after_s: Annotated[
        Float,
        Field(
            ge=0,
            le=60,
            description="... spanning at least this long without a valid reply (Kerong gives its "
            "boards' reaction time as under 1 s; a busy host that read an answer too late is not "
            "a dead board). Offline: its doors read UNKNOWN, its compartments are not handed out, "
            "a board_offline warning is logged",
        ),
    ] = 1.0
    offline_alarm_after_s: Annotated[
        Float,
        Field(
            ge=0,
            le=3600,
            description="a board_still_offline alarm once it stayed offline this long (a blip is "
            "an event, not an alarm)",
        ),
    ] = 10.0


@dataclass(frozen=True)
class LocksSection:
    """The lock coils."""

    __pydantic_config__ = SECTION

    pulse_ms: Annotated[
        Annotated[Int, Cap("the hard cap")],
        Field(
            ge=50,
            le=MAX_PULSE_MS,
            description=f"how long a lock coil is energised ({MAX_PULSE_MS} is a hard cap)",
        ),
    ] = 500
    gap_ms: Annotated[
        Int, Field(ge=0, le=5000, description="pause between two pulses in one power group")
    ] = 150


@dataclass(frozen=True)
class SecuritySection:
    """These settings are refused when 30 days of guessing at the screen would find a
    pickup code (with one live parcel per compartment) or a staff PIN with a chance above
    1 %; the refusal prints the figure (docs/security.md, "The bound")."""

    __pydantic_config__ = SECTION

    wrong_codes_before_lockout: Annotated[
        Int, Field(ge=1, le=20, description="wrong pickup codes or PINs in a row before a lockout")
    ] = 5
    lockout_initial_s: Annotated[
        Float, Field(ge=1, description="first lockout; each further one doubles")
    ] = 30.0
    lockout_max_s: Annotated[
        Float, Field(ge=1, description="longest lockout: at least lockout_initial_s")
    ] = 1800.0
    bruteforce_alarm_per_hour: Annotated[
        Int, Field(ge=1, description="wrong codes per hour (all users) that raise an alarm")
    ] = 20
    sign_in_failures_per_hour: Annotated[
        Int,
        Field(
            ge=1,
            le=3600,
            description="wrong sign-ins in any hour, however many right ones come between: then "
            "sign-in waits (and an alarm)",
        ),
    ] = 10
    courier_pin_digits: Annotated[
        Int, Field(ge=4, le=12, description="fewest digits of a courier's PIN")
    ] = 6
    technician_pin_digits: Annotated[
        Int, Field(ge=4, le=12, description="fewest digits of a technician's PIN")
    ] = 8
    session_idle_minutes: Annotated[
        Float,
        Field(ge=1, le=240, description="courier/technician session ends after this idle time"),
    ] = 10.0
    mass_open_max: Annotated[
        Int,
        Field(
            ge=1,
            le=100_000,
            description="door opens within the window past which the kiosk stops ...",
        ),
    ] = 20
    mass_open_window_s: Annotated[
        Float,
        Field(
            ge=1,
            le=86400,
            description="... opening doors until a technician resets it (open-all and self-test "
            "do not count): docs/security.md",
        ),
    ] = 60.0

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
    """The touchscreen (it reads these from the daemon)."""

    __pydantic_config__ = SECTION

    idle_timeout_s: Annotated[
        Float,
        Field(
            ge=10, le=600, description='idle time on any screen but home before "Need more time?"'
        ),
    ] = 60.0
    more_time_s: Annotated[
        Float, Field(ge=20, le=120, description="the countdown of that question")
    ] = 30.0
    door_open_grace_s: Annotated[
        Float,
        Field(
            ge=10,
            le=600,
            description="a customer's door left open: after this long the screen goes home, which "
            "names every open door, and the next person can start a pickup (the door's alarm is "
            "the daemon's)",
        ),
    ] = 60.0
    display_dpi: Annotated[
        Float,
        Field(
            ge=50,
            le=600,
            description='pixels per inch of the display (the official 7" display: 800 px over '
            "152 mm): touch targets are >= 9 mm",
        ),
    ] = 133.0
    large_text: Annotated[Bool, Field(description="start in large-text mode")] = False
    key_sound: Annotated[
        Bool, Field(description="a short sound on each key press and on errors")
    ] = False
    # kiosk/ui/speech, whose names these are, is not imported: it would bring pygame into
    # the daemon (tests/unit/test_speech_phrases.py holds the two together)
    speech: Annotated[
        Literal["espeak-ng", "none"],
        Field(
            description='spoken guidance: "espeak-ng" (Debian\'s package; where it is not '
            'installed, no speech and one log line says so) | "none"'
        ),
    ] = "espeak-ng"
    speech_rate: Annotated[
        Int, Field(ge=80, le=450, description="how fast the voice speaks, in words a minute")
    ] = 160
    speech_on: Annotated[
        Bool,
        Field(
            description="true: every person hears the voice from the start; false: it speaks once "
            'a person taps "Speech" on home, until home is idle'
        ),
    ] = False


@dataclass(frozen=True)
class SimSection:
    """How ``locker-kiosk sim`` emulates this config's Kerong and Modbus boards (the daemon
    ignores it; docs/hardware.md, "The simulator and the emulators")."""

    __pydantic_config__ = SECTION

    unlock_reply: Annotated[
        Bool,
        Field(
            description="emulated Kerong boards answer an unlock with their status; false: "
            "silence, as some real boards may (--unlock-reply no)"
        ),
    ] = True


@dataclass(frozen=True)
class ScannerSection:
    """A barcode scanner the daemon reads; scans go to the touchscreen. A keyboard-wedge
    scanner may instead type into the touchscreen window: then leave this out."""

    __pydantic_config__ = SECTION

    backend: Annotated[
        Literal["none", "evdev", "serial"],
        Field(description="none | evdev (USB keyboard-wedge, grabbed) | serial"),
    ] = "none"
    device: Annotated[Str, Field(description="/dev/input/by-id/...-event-kbd or /dev/ttyACM0")] = ""
    baud: Annotated[Int, Field(ge=1200, le=921600, description="serial only")] = 9600


@dataclass(frozen=True)
class BoardConfig:
    """A lock control board. Every key but these is an option of its driver, checked
    against the driver's declared options: a real board takes e.g. ``port =
    "/dev/ttyUSB0"``, ``baud = 19200`` and ``address = 0``, and a gpio board (the Pi's own
    pins) says which Pi it is (``pi_model = "4"``: 1 2 3 4 400 zero zero-2 cm1 cm3 cm4 5
    500 cm5) and which lock outputs an external resistor holds off from power-on
    (``held_off_pins = []``; docs/hardware.md, "Safe from power-on").

    Each driver's options, with their defaults and what is still to be confirmed on a
    bench: docs/hardware.md, and the examples config/kerong.toml (CU16),
    config/kerong-cu48.toml, config/modbus.toml (8 relays, (D)), config/modbus-16-32.toml
    (16 and 32 relays, shared input boards) and config/gpio-pi.toml."""

    # the file's other keys are the driver's options, taken apart before validation
    __pydantic_config__ = ConfigDict(
        extra="forbid", json_schema_extra={"additionalProperties": True}
    )

    name: Annotated[
        Identifier,
        Field(description="required, unique; compartments refer to it", examples=["main"]),
    ]
    driver: Annotated[
        Str,
        Field(description="required: sim | kerong | kerong-cu48 | modbus | gpio", examples=["sim"]),
    ]
    power_group: Annotated[
        Identifier, Field(description="boards sharing a power supply fire one lock at a time")
    ] = "main"
    options: Annotated[SkipJsonSchema[dict[str, Any]], Field(exclude=True)] = dataclasses.field(
        default_factory=dict
    )


@dataclass(frozen=True)
class CompartmentConfig:
    """A door."""

    __pydantic_config__ = SECTION

    id: Annotated[
        ShortName, Field(description="required: 1-8 letters or digits, unique", examples=["A01"])
    ]
    size: Annotated[Str, Field(description="required: one of the sizes", examples=["M"])]
    board: Annotated[
        Str, Field(description="required: a board defined in [[boards]]", examples=["main"])
    ]
    lock: Annotated[
        Int,
        Field(
            ge=1, le=64, description="required: one compartment per lock of a board", examples=[1]
        ),
    ]
    accessible: Annotated[Bool, Field(description="true: reachable from a wheelchair")] = False
    column: Annotated[
        Int, Field(ge=0, le=64, description="place on the wall picture; 0 = laid out automatically")
    ] = 0
    row: Annotated[
        Int, Field(ge=0, le=64, description="place on the wall picture; 0 = laid out automatically")
    ] = 0


@dataclass(frozen=True, kw_only=True)
class Config:
    """A kiosk's configuration: one TOML file (``kiosk.toml``)."""

    __pydantic_config__ = SECTION

    path: Annotated[SkipJsonSchema[Path], Field(exclude=True)]
    demo: Annotated[
        Bool,
        Field(
            description="true only for the demo: the kiosk runs on the simulator and shows "
            "demo hints"
        ),
    ] = False
    kiosk: KioskSection
    policy: PolicySection = dataclasses.field(default_factory=PolicySection)
    doors: DoorsSection = dataclasses.field(default_factory=DoorsSection)
    locks: LocksSection = dataclasses.field(default_factory=LocksSection)
    security: SecuritySection = dataclasses.field(default_factory=SecuritySection)
    clock: ClockSection = dataclasses.field(default_factory=ClockSection)
    storage: StorageSection = dataclasses.field(default_factory=StorageSection)
    notify: NotifySection = dataclasses.field(default_factory=NotifySection)
    sizes: Annotated[
        tuple[SizeConfig, ...],
        Field(
            description="smallest first (the order is the rank used to find the smallest "
            "compartment a parcel fits); left out: S, M, L and XL"
        ),
    ] = DEFAULT_SIZES
    boards: Annotated[tuple[BoardConfig, ...], Field(min_length=1, description="at least one")]
    compartments: Annotated[
        tuple[CompartmentConfig, ...], Field(min_length=1, description="at least one")
    ]
    ui: UiSection = dataclasses.field(default_factory=UiSection)
    scanner: ScannerSection = dataclasses.field(default_factory=ScannerSection)
    sim: SimSection = dataclasses.field(default_factory=SimSection)
    api: ApiSection = dataclasses.field(default_factory=ApiSection)
    trace: TraceSection = dataclasses.field(default_factory=TraceSection)
    fleet: FleetSection = dataclasses.field(default_factory=FleetSection)

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
