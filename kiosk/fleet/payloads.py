"""The fleet's payloads: the shape of every message on ``lk/v1/kiosk/{id}/...``, declared once.

This is the reference docs/fleet.md points to. The kiosk builds its reports with these
types (:mod:`kiosk.fleet.report`), the operator's side builds its messages with them
(:mod:`kiosk.fleet.messages`), and the back office reads what it accepts into them
(``office/received.py``). They are ``TypedDict``\\ s: at run time a plain ``dict``, so
``json.dumps`` of one gives the very bytes it gave before the types were declared, and a
signature over them stays what it was.

What the kiosk is sent is signed (:mod:`kiosk.fleet.envelope`): an :class:`Envelope`
whose ``payload`` is the base64 of a :class:`Body`'s JSON, whose ``args`` are one of
:data:`Args`. A kiosk does not trust ``args`` to have this shape because it was signed:
each handler checks the fields it reads (``envelope.text_arg`` and its kin).

What the kiosk says is on its own topics: :class:`Presence` (``presence``, retained,
also the last will), :class:`CompartmentsState` (``state/compartments``, retained),
:class:`Health` (``health``), :class:`EventReport` (``events``), :class:`Result`
(``results``) and :class:`ReportedConfig` (``config/reported``, retained).

Imports nothing of the kiosk: the back office may import it.
"""

# No ``from __future__ import annotations``: TypedDict learns which keys are NotRequired
# from the annotations themselves, so they must be objects, not strings, at run time.
from typing import Any, Literal, NotRequired, TypedDict

# -- the operator's side: what a kiosk is sent ------------------------------------------


class Envelope(TypedDict):
    """The signed message as published: the key's id, the payload's bytes and their
    Ed25519 signature, both in base64."""

    kid: str
    payload: str
    sig: str


class OpenArgs(TypedDict):
    compartment: str


class OutOfServiceArgs(TypedDict):
    compartment: str
    reason: str


class InServiceArgs(TypedDict):
    compartment: str


class ExtendArgs(TypedDict):
    barcode: str
    hours: float


class BarcodeArgs(TypedDict):
    """``cancel_announcement`` (a command) names the parcel by its barcode."""

    barcode: str


class SelftestArgs(TypedDict):
    """``selftest`` takes nothing."""


class ResendEventsArgs(TypedDict):
    from_seq: int


class Announcement(TypedDict):
    """``announce``: a parcel pre-announced for its recipient; with ``reserve``, a
    compartment held for it ``reserve_hours`` (24 by default)."""

    barcode: str
    size: str
    phone: str | None
    email: str | None
    reserve: NotRequired[bool]
    reserve_hours: NotRequired[float]


Settings = dict[str, float]
"""A desired config's settings by their dotted key (``policy.hold_hours``); a kiosk takes
only those it lets the network set (``kiosk.fleet.settings.SETTABLE``)."""


class DesiredConfigArgs(TypedDict):
    settings: Settings


class StaffListArgs(TypedDict):
    """The staff list, sealed to the kiosk's staff key (``kiosk.fleet.sealed``)."""

    sealed: str


class SealedStaff(TypedDict):
    """What a staff list's ``sealed`` box holds, as deflated compact JSON: each person as
    ``[name, role, PIN verifier or null, badge or null]``."""

    people: list[list[str | None]]


CommandArgs = (
    OpenArgs
    | OutOfServiceArgs
    | InServiceArgs
    | ExtendArgs
    | BarcodeArgs
    | SelftestArgs
    | ResendEventsArgs
)
"""The arguments of a message on ``commands``."""

VersionedArgs = Announcement | BarcodeArgs | DesiredConfigArgs | StaffListArgs
"""The arguments of an announcement (``announce``, ``cancel``), a desired config or a staff
list, before :func:`kiosk.fleet.messages` adds the ``version`` they all carry."""

Args = CommandArgs | VersionedArgs


class Body(TypedDict):
    """What an envelope's payload says; the kiosk's result carries its ``id``."""

    id: str
    kiosk: str
    issued_at: float
    expires_at: float
    command: str
    args: dict[str, object]


# -- the kiosk's side: what it tells its network ------------------------------------------


class Presence(TypedDict):
    """``presence``: online with what the kiosk runs, or offline (its last will says only
    that)."""

    kiosk: str
    status: Literal["online", "offline"]
    since: NotRequired[float]
    version: NotRequired[str]
    announcements_cursor: NotRequired[int]
    staff_version: NotRequired[int]


class WallCompartment(TypedDict):
    """One compartment as the network sees it: enough for a wall of doors (no parcel, no
    code, no recipient). ``state`` is AVAILABLE, RESERVED, OCCUPIED or OUT_OF_SERVICE;
    ``door`` OPEN, CLOSED or UNKNOWN."""

    id: str
    size: str
    state: str
    door: str
    accessible: bool
    held: bool
    board_online: bool


class CompartmentsState(TypedDict):
    """``state/compartments``: the retained summary (``ts`` is added as it is sent)."""

    kiosk: str
    free: dict[str, int]
    total: dict[str, int]
    out_of_service: list[str]
    held: list[str]
    doors_open: list[str]
    doors_unknown: list[str]
    boards: dict[str, bool]
    guard: Literal["ok", "tripped"]
    alarms: int
    compartments: list[WallCompartment]
    ts: NotRequired[float]


class BoardHealth(TypedDict):
    online: bool
    errors: int | None
    last_seen: float | None


class Health(TypedDict):
    """``health``: ``acked_seq`` is the last event the broker acknowledged, so a consumer
    that lacks one up to it lost it."""

    kiosk: str
    ts: float
    uptime_s: float | None
    outbox_depth: int | None
    acked_seq: NotRequired[int | None]
    notify_depth: int | None
    boards: dict[str, BoardHealth]


class EventReport(TypedDict):
    """``events``: one row of the kiosk's event log, ``key`` unique in the network.
    ``detail`` is the event's own, as its kind has it (the event log's JSON)."""

    kiosk: str
    seq: int
    key: str
    ts: float
    kind: str
    severity: str
    actor: str | None
    compartment: str | None
    detail: dict[str, Any]


class DoorOpened(TypedDict):
    """``open``: the door's operation and what became of it (``UNLOCK_SENT`` when the
    answer is written before the door is seen)."""

    compartment: str
    operation: int
    status: str


class ServiceChanged(TypedDict):
    """``out_of_service``, ``in_service``."""

    compartment: str
    state: str


class HoldExtended(TypedDict):
    barcode: str
    expires_at: float | None
    extended_hours: float


class AnnouncementCancelled(TypedDict):
    """``cancel_announcement`` (a command)."""

    barcode: str
    parcel: int


class Resending(TypedDict):
    from_seq: int
    last_seq: int


class SelftestReport(TypedDict):
    """``selftest``: every board and door sensor read, no door opened."""

    passed: bool
    boards: dict[str, bool]
    doors: dict[str, str]
    problems: list[str]


class Announced(TypedDict):
    """``announce`` and ``cancel`` (on ``announcements``): ``held`` is the compartment
    held for the parcel, if one is."""

    barcode: str
    parcel: int
    version: int
    held: str | None


class SettingsApplied(TypedDict):
    version: int
    applied: Settings
    refused: dict[str, str]


class StaffApplied(TypedDict):
    """``staff_list``: who came, changed and went; ``shadowed``: a local user of the
    kiosk signs in by that name; ``role_not_taken``: left out by ``fleet.staff_roles``."""

    version: int
    people: int
    added: list[str]
    changed: list[str]
    revoked: list[str]
    shadowed: list[str]
    role_not_taken: list[str]


class Refused(TypedDict):
    """A refusal carries nothing but its reason and message (in :class:`Result`)."""


Outcome = (
    DoorOpened
    | ServiceChanged
    | HoldExtended
    | AnnouncementCancelled
    | Resending
    | SelftestReport
    | Announced
    | SettingsApplied
    | StaffApplied
    | Refused
)
"""What a message did, by its name: a :class:`Result`'s ``result``."""


class Result(TypedDict):
    """``results``: the answer to one message, by the id it carried; ``replayed`` when the
    kiosk had it already and answers from its record."""

    kiosk: str
    id: str | None
    command: str | None
    ok: bool
    reason: str | None
    message: str
    result: Outcome
    replayed: bool
    ts: float


class ReportedConfig(TypedDict):
    """``config/reported``: the settings in force, with the version and id of the desired
    config they came with, and what the last one asked for and could not have."""

    kiosk: str
    id: str | None
    version: int
    applied: Settings
    refused: dict[str, str]


Report = Presence | CompartmentsState | Health | EventReport | Result | ReportedConfig
"""Anything a kiosk publishes."""
