"""Plain rows the store hands out. Nothing outside the store sees SQL or cursors."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from kiosk.domain import CompartmentState, OpStatus, ParcelState, Purpose, Role
from kiosk.reasons import DoorResult, OosReason, OutOfService


@dataclass(frozen=True)
class CompartmentRow:
    id: str
    size: str
    board: str
    lock: int
    accessible: bool
    state: CompartmentState
    out_of_service: OutOfService | None  # why, while its state is OUT_OF_SERVICE
    held_for: int | None = None  # an announced parcel this compartment is kept for
    held_until: float | None = None
    # Not handed out until a person checked it (kiosk.reasons.CheckReason), whatever
    # its state: what was found, and since when.
    check_reason: str | None = None
    check_detail: dict[str, Any] = field(default_factory=dict)
    check_since: float | None = None

    @property
    def needs_check(self) -> bool:
        return self.check_reason is not None

    @property
    def oos_reason(self) -> str | None:
        """Why it is out of service, in English (made from the code)."""
        return None if self.out_of_service is None else self.out_of_service.text

    @classmethod
    def from_row(cls, r: sqlite3.Row) -> CompartmentRow:
        return cls(
            r["id"],
            r["size"],
            r["board"],
            r["lock"],
            bool(r["accessible"]),
            CompartmentState(r["state"]),
            _out_of_service(r),
            r["held_for"],
            r["held_until"],
            r["check_reason"],
            json.loads(r["check_detail"] or "{}"),
            r["check_since"],
        )


def _out_of_service(r: sqlite3.Row) -> OutOfService | None:
    if r["oos_code"] is None:
        return None
    result = None if r["oos_result"] is None else DoorResult(r["oos_result"])
    return OutOfService(OosReason(r["oos_code"]), result, r["oos_seconds"], r["oos_words"])


@dataclass(frozen=True)
class ParcelRow:
    id: int
    barcode: str
    size: str | None
    phone: str | None
    email: str | None
    state: ParcelState
    compartment_id: str | None
    courier: str | None
    announced_at: float | None
    stored_at: float | None
    expires_at: float | None
    picked_up_at: float | None
    expired_at: float | None
    returned_at: float | None
    reminders_sent: int
    extended_hours: float = 0.0

    @classmethod
    def from_row(cls, r: sqlite3.Row) -> ParcelRow:
        return cls(
            r["id"],
            r["barcode"],
            r["size"],
            r["phone"],
            r["email"],
            ParcelState(r["state"]),
            r["compartment_id"],
            r["courier"],
            r["announced_at"],
            r["stored_at"],
            r["expires_at"],
            r["picked_up_at"],
            r["expired_at"],
            r["returned_at"],
            r["reminders_sent"],
            r["extended_hours"],
        )


@dataclass(frozen=True)
class OpRow:
    id: int
    compartment_id: str
    purpose: Purpose
    status: OpStatus
    parcel_id: int | None
    actor: str | None
    details: dict[str, Any] = field(default_factory=dict)
    fires: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0

    @classmethod
    def from_row(cls, r: sqlite3.Row) -> OpRow:
        return cls(
            r["id"],
            r["compartment_id"],
            Purpose(r["purpose"]),
            OpStatus(r["status"]),
            r["parcel_id"],
            r["actor"],
            json.loads(r["details"]),
            r["fires"],
            r["created_at"],
            r["updated_at"],
        )


@dataclass(frozen=True)
class UserRow:
    """A person who may sign in: a local user (``locker-kiosk users``) or one of the
    centrally managed staff (``source`` ``central``, from the operator's staff list),
    whose ``pin_hash`` is ``None`` until they chose a PIN."""

    id: int
    name: str
    role: Role
    pin_hash: str | None
    has_badge: bool
    created_at: float
    source: str = "local"

    @classmethod
    def from_row(cls, r: sqlite3.Row) -> UserRow:
        return cls(
            r["id"],
            r["name"],
            Role(r["role"]),
            r["pin_hash"],
            r["badge_tag"] is not None,
            r["created_at"],
        )

    @classmethod
    def from_staff_row(cls, r: sqlite3.Row) -> UserRow:
        return cls(
            r["rowid"],
            r["name"],
            Role(r["role"]),
            r["pin_hash"],
            r["badge_tag"] is not None,
            r["updated_at"],
            "central",
        )


@dataclass(frozen=True)
class OutboxRow:
    id: int
    key: str
    template: str  # which message: parcel_stored, pickup_reminder, ... (column ``kind``)
    channel: str
    recipient: str
    payload: dict[str, Any]
    attempts: int
    next_at: float

    @classmethod
    def from_row(cls, r: sqlite3.Row) -> OutboxRow:
        return cls(
            r["id"],
            r["key"],
            r["kind"],
            r["channel"],
            r["recipient"],
            json.loads(r["payload"]),
            r["attempts"],
            r["next_at"],
        )
