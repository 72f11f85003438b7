"""What the kiosks' events mean for alarms, parcels and compartments: pure functions.

The ingest calls these only for events stored for the first time, so a resent event
derives nothing twice. Events of one kiosk may arrive out of order (a gap repaired
later, two ``serve`` processes), so every derived state carries the ``seq`` of the
event that set it, and the store lets only a higher ``seq`` replace it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from office.received import EventMsg
from office.vocab import AlarmKind, CompartmentState, DoorState, ParcelState

ALARM_OF_EVENT = {
    "forced_open": AlarmKind.FORCED_OPEN,
    "door_found_open": AlarmKind.FORCED_OPEN,
    "open_not_detected": AlarmKind.DOOR_DID_NOT_OPEN,
    "door_left_open": AlarmKind.DOOR_LEFT_OPEN,
    "board_offline": AlarmKind.BOARD_OFFLINE,
    "brute_force_suspected": AlarmKind.BRUTE_FORCE,
    "mass_open_guard_tripped": AlarmKind.GUARD_TRIPPED,
    "customer_needs_help": AlarmKind.PROBLEM_REPORT,
    "deposit_needs_check": AlarmKind.PROBLEM_REPORT,
    "problem_reported": AlarmKind.PROBLEM_REPORT,
}
COURIER_REPORT = "courier reported"
"""How a courier's "this door did not open" reads in the kiosk's out_of_service reason."""

RESOLVED_BY = {
    "board_online": ((AlarmKind.BOARD_OFFLINE,), "board"),
    "mass_open_guard_reset": ((AlarmKind.GUARD_TRIPPED,), None),
    "door_closed": ((AlarmKind.DOOR_LEFT_OPEN, AlarmKind.FORCED_OPEN), "compartment"),
}
"""An event that ends the condition of open alarms: ``(kinds, what must match)``."""

ParcelTime = Literal[
    "announced_at", "stored_at", "picked_up_at", "expired_at", "returned_at", "cancelled_at"
]
"""The column of a parcel's row that keeps when it reached a state."""

PARCEL_STATE_OF: dict[str, tuple[ParcelState, ParcelTime | None]] = {
    "parcel_announced": (ParcelState.ANNOUNCED, "announced_at"),
    "parcel_stored": (ParcelState.STORED, "stored_at"),
    "parcel_picked_up": (ParcelState.PICKED_UP, "picked_up_at"),
    "parcel_expired": (ParcelState.EXPIRED, "expired_at"),
    "parcel_returned": (ParcelState.RETURNED, "returned_at"),
    "announcement_cancelled": (ParcelState.CANCELLED, "cancelled_at"),
    "hold_extended": (ParcelState.STORED, None),
}
PARCEL_TIMES: tuple[ParcelTime, ...] = (
    "announced_at",
    "stored_at",
    "picked_up_at",
    "expired_at",
    "returned_at",
    "cancelled_at",
)

DOOR_OF_EVENT = {
    "door_opened": DoorState.OPEN,
    "door_found_open": DoorState.OPEN,
    "forced_open": DoorState.OPEN,
    "door_opened_by_late_pulse": DoorState.OPEN,
    "door_closed": DoorState.CLOSED,
}
COMPARTMENT_OF_EVENT = {
    "parcel_stored": CompartmentState.OCCUPIED,
    "parcel_picked_up": CompartmentState.AVAILABLE,
    "parcel_returned": CompartmentState.AVAILABLE,
    "compartment_freed": CompartmentState.AVAILABLE,
    "out_of_service": CompartmentState.OUT_OF_SERVICE,
    "open_not_detected": CompartmentState.OUT_OF_SERVICE,
}


class AlarmRow(TypedDict):
    """An alarm raised by one event (``alarms``); ``detail`` is the event's, with its kind
    and actor."""

    kiosk: str
    kind: str
    source_seq: int
    compartment: str | None
    board: str | None
    raised_at: float
    detail: dict[str, Any]


class Resolution(TypedDict):
    """The open alarms of ``r_kind`` one event ends (those of its board or compartment,
    ``r_match``, or any with ``None``), raised before ``r_seq``."""

    r_kiosk: str
    r_kind: str
    r_seq: int
    r_now: float
    r_match: str | None


class ParcelRow(TypedDict):
    """A parcel as the network's events tell it (``parcels``)."""

    kiosk: str
    local_id: int
    barcode: str | None
    size: str | None
    state: str | None
    state_seq: int
    compartment: str | None
    courier: str | None
    expires_at: float | None
    updated_at: float
    announced_at: float | None
    stored_at: float | None
    picked_up_at: float | None
    expired_at: float | None
    returned_at: float | None
    cancelled_at: float | None


class CompartmentRow(TypedDict):
    """A compartment's state and door as the network's events tell them
    (``compartments``), each with the ``seq`` of the event that set it."""

    kiosk: str
    compartment: str
    state: str | None
    state_seq: int
    oos_reason: str | None
    parcel_ref: int | None
    door: str | None
    door_seq: int
    updated_at: float


@dataclass
class Derived:
    """Rows to write for one batch of newly stored events."""

    alarms: list[AlarmRow] = field(default_factory=list)
    resolutions: list[Resolution] = field(default_factory=list)
    parcels: dict[tuple[str, int], ParcelRow] = field(default_factory=dict)
    compartments: dict[tuple[str, str], CompartmentRow] = field(default_factory=dict)


def derive(new_events: Iterable[EventMsg], now: float) -> Derived:
    """Everything ``new_events`` (stored just now) change, merged per row."""
    out = Derived()
    for event in sorted(new_events, key=lambda e: (e.kiosk, e.seq)):
        alarm = alarm_of(event)
        if alarm is not None:
            out.alarms.append(alarm)
        out.resolutions += resolutions_of(event, now)
        if event.kind in PARCEL_STATE_OF and event.parcel_ref is not None:
            _merge_parcel(out.parcels, event, now)
        if event.compartment is not None:
            _merge_compartment(out.compartments, event, now)
    return out


def alarm_of(event: EventMsg) -> AlarmRow | None:
    """The alarm an event raises, as a row, or None."""
    kind = ALARM_OF_EVENT.get(event.kind)
    reason = event.detail.get("reason")
    if (
        kind is None
        and event.kind == "out_of_service"
        and isinstance(reason, str)
        and (reason.startswith(COURIER_REPORT))
    ):
        kind = AlarmKind.PROBLEM_REPORT
    if kind is None and event.severity == "alarm":
        kind = AlarmKind.KIOSK_ALARM
    if kind is None:
        return None
    board = event.detail.get("board")
    return AlarmRow(
        kiosk=event.kiosk,
        kind=str(kind),
        source_seq=event.seq,
        compartment=event.compartment,
        board=board[:64] if isinstance(board, str) else None,
        raised_at=event.ts,
        detail={"event": event.kind, "actor": event.actor, **event.detail},
    )


def resolutions_of(event: EventMsg, now: float) -> list[Resolution]:
    found = RESOLVED_BY.get(event.kind)
    if found is None:
        return []
    kinds, match = found
    value = event.detail.get("board") if match == "board" else event.compartment
    if match is not None and not isinstance(value, str):
        return []
    return [
        Resolution(r_kiosk=event.kiosk, r_kind=str(kind), r_seq=event.seq, r_now=now, r_match=value)
        for kind in kinds
    ]


def _merge_parcel(parcels: dict[tuple[str, int], ParcelRow], event: EventMsg, now: float) -> None:
    assert event.parcel_ref is not None
    state, column = PARCEL_STATE_OF[event.kind]
    row = parcels.setdefault(
        (event.kiosk, event.parcel_ref),
        ParcelRow(
            kiosk=event.kiosk,
            local_id=event.parcel_ref,
            barcode=None,
            size=None,
            state=None,
            state_seq=0,
            compartment=None,
            courier=None,
            expires_at=None,
            updated_at=now,
            announced_at=None,
            stored_at=None,
            picked_up_at=None,
            expired_at=None,
            returned_at=None,
            cancelled_at=None,
        ),
    )
    detail = event.detail
    barcode, size, expires = detail.get("barcode"), detail.get("size"), detail.get("expires_at")
    if isinstance(barcode, str) and 0 < len(barcode) <= 128:
        row["barcode"] = barcode
    if isinstance(size, str) and 0 < len(size) <= 16:
        row["size"] = size
    if event.seq > row["state_seq"]:  # events come sorted: the last one wins
        row["state"], row["state_seq"] = str(state), event.seq
        if isinstance(expires, int | float) and not isinstance(expires, bool):
            row["expires_at"] = float(expires)
    if column is not None and row[column] is None:
        row[column] = event.ts
    if event.kind == "parcel_stored":
        row["compartment"], row["courier"] = event.compartment, event.actor


def _merge_compartment(
    compartments: dict[tuple[str, str], CompartmentRow], event: EventMsg, now: float
) -> None:
    assert event.compartment is not None
    state = COMPARTMENT_OF_EVENT.get(event.kind)
    if event.kind == "in_service":
        told = event.detail.get("state")
        state = CompartmentState.OCCUPIED if told == "OCCUPIED" else CompartmentState.AVAILABLE
    door = DOOR_OF_EVENT.get(event.kind)
    if state is None and door is None:
        return
    row = compartments.setdefault(
        (event.kiosk, event.compartment),
        CompartmentRow(
            kiosk=event.kiosk,
            compartment=event.compartment,
            state=None,
            state_seq=0,
            oos_reason=None,
            parcel_ref=None,
            door=None,
            door_seq=0,
            updated_at=now,
        ),
    )
    if state is not None:
        reason = event.detail.get("reason")
        row["state"], row["state_seq"] = str(state), event.seq
        row["oos_reason"] = (
            reason[:500]
            if state is CompartmentState.OUT_OF_SERVICE and (isinstance(reason, str))
            else None
        )
        row["parcel_ref"] = event.parcel_ref if state is CompartmentState.OCCUPIED else None
    if door is not None:
        row["door"], row["door_seq"] = str(door), event.seq
