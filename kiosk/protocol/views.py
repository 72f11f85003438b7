"""The shapes of the daemon's answers, as a front end reads them.

One ``TypedDict`` per answer of the local API: the daemon's routes declare them as their
response models (so ``/openapi.json`` describes every answer), and :class:`ApiClient`
returns them, so ``lockerctl`` and the touchscreen read typed fields. They are plain
dicts at run time: a front end imports no validation library for them.

A key marked ``NotRequired`` is present only when it says something (an operation's
``unused`` only once it was given up). Numbers the daemon may send as a whole number or
a fraction are ``Number``, so a ``5`` stays ``5`` on the wire.

Where a piece of an answer is another room's own JSON that a front end shows as it
comes (a board's driver counters, the fleet link's state), it stays a ``dict``.
"""

from __future__ import annotations

from typing import Any, NotRequired

# typing_extensions: pydantic reads a TypedDict of typing only from Python 3.12 on.
from typing_extensions import TypedDict

Number = int | float


class Ok(TypedDict):
    ok: bool


# -- door operations ------------------------------------------------------------------


class OperationView(TypedDict):
    """A door operation: ``GET /v1/operations/{id}`` and every answer that opens a door."""

    operation: int
    compartment: str
    purpose: str
    status: str
    door: str
    live: bool
    message: str
    parcel: NotRequired[int]
    unused: NotRequired[str]
    problem: NotRequired[str]  # a problem reason code reported at the screen
    item_check: NotRequired[str]
    notice: NotRequired[str | None]
    confirm: NotRequired[str]
    replaces: NotRequired[str]  # a deposit: the door that did not open before this one
    again_token: NotRequired[str]  # a pickup: the screen's token to open the door again
    again_s: NotRequired[Number]  # a pickup: how long after closing it may
    barcode: NotRequired[str]  # a return: the parcel to take out
    remaining: NotRequired[int]  # a return: how many expired parcels are left after it


class DepositLookup(TypedDict):
    barcode: str
    announced: bool
    size: str | None
    has_contact: bool


# -- compartments and parcels -----------------------------------------------------------


class CheckView(TypedDict):
    """Why a compartment is not handed out until a person has checked it."""

    reason: str
    text: str
    since: Number | None
    detail: dict[str, Any]


class ParcelSummary(TypedDict):
    barcode: str
    state: str
    expires_at: Number | None
    extended_hours: Number


class ResultCode(TypedDict):
    """A door's result as a code: a self-test's reason for taking a door out of service."""

    code: str
    seconds: NotRequired[int]  # not_closed: within how long it was not


class CompartmentBrief(TypedDict):
    """A compartment after a technician changed its state or check."""

    id: str
    size: str
    state: str
    reason: str | None
    reason_code: str | None
    reason_detail: ResultCode | None  # a self-test's door result
    check: CheckView | None


class CompartmentView(CompartmentBrief):
    """A compartment as ``GET /v1/compartments`` shows it."""

    board: str
    lock: int
    accessible: bool
    door: str
    item: bool | None
    board_online: bool
    held_for: int | None
    operation: int | None
    parcel: ParcelSummary | None


class Compartments(TypedDict):
    compartments: list[CompartmentView]


class ParcelView(TypedDict):
    id: int
    barcode: str
    size: str | None
    state: str
    compartment: str | None
    phone: str | None  # masked
    email: str | None  # masked
    courier: str | None
    announced_at: Number | None
    stored_at: Number | None
    expires_at: Number | None
    picked_up_at: Number | None
    expired_at: Number | None
    returned_at: Number | None
    extended_hours: Number


class Parcels(TypedDict):
    parcels: list[ParcelView]


# -- the event log ----------------------------------------------------------------------


class EventView(TypedDict):
    seq: int
    ts: Number
    kind: str
    severity: str
    actor: str | None
    compartment: str | None
    detail: dict[str, Any]


class Events(TypedDict):
    events: list[EventView]


class Verification(TypedDict):
    ok: bool
    rows: int
    first_bad_seq: int | None
    reason: str | None


# -- sessions and people ----------------------------------------------------------------


class SessionView(TypedDict):
    token: str
    user: str
    role: str


class PersonView(TypedDict):
    name: str
    role: str
    source: str  # local or central
    badge: bool
    pin_set: bool
    in_force: bool


class StaffSyncView(TypedDict):
    state: str
    wait_s: Number


class StaffView(TypedDict):
    version: int | None
    sync: StaffSyncView
    key: str


class Users(TypedDict):
    users: list[PersonView]
    staff: StaffView


# -- jobs and technician's tools ----------------------------------------------------------


class JobView(TypedDict):
    """A technician's job (open-all, self-test, discovery, bus scan) and its results."""

    id: int
    kind: str
    state: str  # running or done
    done: int
    total: int
    results: list[dict[str, Any]]  # each kind of job has its own
    skipped: list[str]


class BusAddress(TypedDict):
    address: int
    board: str | None  # the configured board at this address, if any
    role: str | None
    kinds: NotRequired[list[str]]  # the kinds of board that answered there


class BusScan(TypedDict):
    board: str
    driver: str
    port: str
    addresses: list[BusAddress]  # those that answered
    missing: list[BusAddress]  # configured, but silent


class TraceView(TypedDict):
    boards: list[str]
    file: str
    size: int
    max_bytes: int
    keep: int
    error: str | None


# -- guards, clock and disk -------------------------------------------------------------


class GuardView(TypedDict):
    tripped: bool
    tripped_at: Number | None
    opens_in_window: int
    max_opens: int
    window_s: Number


class ClockView(TypedDict):
    state: str
    trusted: bool
    trust: str
    kiosk_time: Number
    wall_time: Number
    jump_s: Number | None
    jumped_at: Number | None
    max_step_s: Number


class StorageView(TypedDict):
    state: str
    free_bytes: int
    total_bytes: int
    low_space_bytes: int
    read_only: bool
    unwritten_events: int


class KeypadView(TypedDict):
    retry_after: Number
    refused: int


# -- the kiosk ----------------------------------------------------------------------------


class SizeView(TypedDict):
    name: str
    width_mm: int
    height_mm: int
    depth_mm: int


class WallPlace(TypedDict):
    id: str
    size: str
    accessible: bool
    column: int
    row: int


class KioskInfo(TypedDict):
    """What a front end needs to draw this kiosk: names, sizes, the wall, settings."""

    id: str
    name: str
    operator_contact: str
    name_by_language: dict[str, str]
    operator_contact_by_language: dict[str, str]
    languages: list[str]
    demo: bool
    pickup_code_digits: int
    pin_digits: int
    max_barcode_length: int
    max_extend_hours: Number
    sizes: list[SizeView]
    wall: list[WallPlace]
    ui: dict[str, Any]  # the [ui] table of the config, as configured
    door_answer_s: Number


class KioskBrief(TypedDict):
    id: str
    name: str
    version: str
    demo: bool
    operator_contact: str


class BoardView(TypedDict):
    name: str
    driver: str
    online: bool
    error: str | None
    last_seen: Number | None
    stats: dict[str, Any]  # the driver's own counters


class CompartmentCounts(TypedDict):
    total: int
    by_state: dict[str, int]
    free_by_size: dict[str, int]
    doors_open: int
    open_doors: list[str]
    needs_check: list[str]


class Status(TypedDict):
    """``GET /v1/status``: the kiosk at a glance."""

    kiosk: KioskBrief
    uptime_s: Number
    boards: list[BoardView]
    compartments: CompartmentCounts
    parcels: dict[str, int]
    operations: list[OperationView]
    outbox_depth: int
    keypad: KeypadView
    sign_in: KeypadView
    mass_open_guard: GuardView
    fleet: dict[str, Any]  # the fleet link's own state
    connections: dict[str, Any]  # each listener's connections
    clock: ClockView | None
    storage: StorageView | None
    alarms: list[EventView]


__all__ = [
    "BoardView",
    "BusAddress",
    "BusScan",
    "CheckView",
    "ClockView",
    "CompartmentBrief",
    "CompartmentCounts",
    "CompartmentView",
    "Compartments",
    "DepositLookup",
    "EventView",
    "Events",
    "GuardView",
    "JobView",
    "KeypadView",
    "KioskBrief",
    "KioskInfo",
    "Number",
    "Ok",
    "OperationView",
    "ParcelSummary",
    "ParcelView",
    "Parcels",
    "PersonView",
    "ResultCode",
    "SessionView",
    "SizeView",
    "StaffSyncView",
    "StaffView",
    "Status",
    "StorageView",
    "TraceView",
    "Users",
    "Verification",
    "WallPlace",
]
