"""The kiosk's vocabulary: states of compartments, parcels and door operations (declared
in :mod:`kiosk.protocol.states`, where the front ends read them too), and of doors."""

from __future__ import annotations

from dataclasses import dataclass

from drivers.base import DoorState
from kiosk.protocol.states import (
    LIVE_PARCEL_STATES,
    CompartmentState,
    OpStatus,
    ParcelState,
    Purpose,
    Role,
)

__all__ = [
    "LIVE_PARCEL_STATES",
    "CompartmentState",
    "DoorOutcome",
    "DoorState",
    "OpStatus",
    "ParcelState",
    "Purpose",
    "Role",
]


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
