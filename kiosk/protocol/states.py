"""The states and purposes the daemon and its front ends share: a compartment's and a
parcel's state, why a door is opened and how far its operation got, who signs in.

Declared here, where the front ends may import them (the touchscreen and lockerctl read
them in the API's answers); :mod:`kiosk.domain` is where the daemon's code finds them.
A member's value is what is stored and sent.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "LIVE_PARCEL_STATES",
    "CompartmentState",
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
