"""The kiosk's vocabulary: states of compartments, parcels and door operations (declared
in :mod:`kiosk.protocol.states`, where the front ends read them too), and of doors."""

from __future__ import annotations

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
    "DoorState",
    "OpStatus",
    "ParcelState",
    "Purpose",
    "Role",
]
