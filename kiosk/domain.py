"""The kiosk's vocabulary: states of compartments, parcels and door operations."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from drivers.base import DoorState

__all__ = [
    "CompartmentState",
    "DoorOutcome",
    "DoorState",
    "OpStatus",
    "ParcelState",
    "Purpose",
    "Role",
]


class CompartmentState(StrEnum):
    AVAILABLE = "AVAILABLE"
    RESERVED = "RESERVED"  # held for a door operation in progress
    OCCUPIED = "OCCUPIED"
    OUT_OF_SERVICE = "OUT_OF_SERVICE"


class ParcelState(StrEnum):
    ANNOUNCED = "ANNOUNCED"
    STORED = "STORED"
    PICKED_UP = "PICKED_UP"
    EXPIRED = "EXPIRED"
    RETURNED = "RETURNED"
    CANCELLED = "CANCELLED"  # a pre-announcement withdrawn before delivery


LIVE_PARCEL_STATES = (ParcelState.STORED, ParcelState.EXPIRED)


class Purpose(StrEnum):
    DEPOSIT = "deposit"
    PICKUP = "pickup"
    RETURN = "return"
    TECHNICIAN = "technician"
    SELF_TEST = "self-test"


class OpStatus(StrEnum):
    """Progress of a door operation (the intent journal).

    ``UNLOCK_SENT`` is committed *before* the lock fires. ``LEFT_OPEN`` is an alarm on a
    live operation: it still ends in ``CLOSED`` when the door shuts.
    """

    UNLOCK_SENT = "UNLOCK_SENT"
    OPENED = "OPENED"
    LEFT_OPEN = "LEFT_OPEN"
    CLOSED = "CLOSED"
    OPEN_NOT_DETECTED = "OPEN_NOT_DETECTED"
    ABANDONED = "ABANDONED"

    @property
    def is_final(self) -> bool:
        return self in (OpStatus.CLOSED, OpStatus.OPEN_NOT_DETECTED, OpStatus.ABANDONED)


class Role(StrEnum):
    COURIER = "courier"
    TECHNICIAN = "technician"


@dataclass(frozen=True)
class DoorOutcome:
    """What a door operation has come to, as a use case returns it (the API makes its
    view of it). An optional field is None when it has nothing to say."""

    operation: int
    compartment: str
    purpose: Purpose
    status: OpStatus
    door: DoorState
    live: bool
    message: str  # English, for lockerctl and the logs
    parcel: int | None = None
    unused: str | None = None  # why the operation was given up
    problem: str | None = None  # a problem reason code reported at the screen
    item_check: str | None = None  # what the item sensor found when the door closed
    notice: str | None = None  # its warning for a person (only with item_check)
    confirm: str | None = None  # a deposit closed on an empty compartment: asked, ...
    replaces: str | None = None  # a deposit: the door that did not open before this one
    again_token: str | None = None  # a pickup: its door may be opened again with this
    again_s: float | None = None  # ... for this long after it closed
    barcode: str | None = None  # a return: the parcel to take out
    remaining: int | None = None  # a return: the expired parcels left after it
