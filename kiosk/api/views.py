"""The views the API makes of the kiosk's rows and state (the shapes are the protocol's)."""

from __future__ import annotations

from typing import cast

from kiosk import __version__
from kiosk.core import Kiosk
from kiosk.domain import DoorOutcome
from kiosk.notify import mask_recipient
from kiosk.protocol.views import (
    CompartmentBrief,
    CompartmentCounts,
    OperationView,
    ParcelView,
    Status,
)
from kiosk.reasons import check_view, reason_codes
from kiosk.store import CompartmentRow, ParcelRow


def operation_view(o: DoorOutcome) -> OperationView:
    """A door operation's answer: its fields that say something, and no others."""
    view: OperationView = {
        "operation": o.operation,
        "compartment": o.compartment,
        "purpose": str(o.purpose),
        "status": str(o.status),
        "door": str(o.door),
        "live": o.live,
        "message": o.message,
    }
    if o.parcel is not None:
        view["parcel"] = o.parcel
    if o.unused is not None:
        view["unused"] = o.unused
    if o.problem is not None:
        view["problem"] = o.problem
    if o.item_check is not None:
        view["item_check"] = o.item_check
        view["notice"] = o.notice  # said even when the sensor has no warning
    if o.confirm is not None:
        view["confirm"] = o.confirm
    if o.replaces is not None:
        view["replaces"] = o.replaces
    if o.again_token is not None and o.again_s is not None:
        view["again_token"] = o.again_token
        view["again_s"] = o.again_s
    if o.barcode is not None and o.remaining is not None:
        view["barcode"] = o.barcode
        view["remaining"] = o.remaining
    return view


def parcel_view(p: ParcelRow) -> ParcelView:
    return {
        "id": p.id,
        "barcode": p.barcode,
        "size": p.size,
        "state": str(p.state),
        "compartment": p.compartment_id,
        "phone": mask_recipient(p.phone) if p.phone else None,
        "email": mask_recipient(p.email) if p.email else None,
        "courier": p.courier,
        "announced_at": p.announced_at,
        "stored_at": p.stored_at,
        "expires_at": p.expires_at,
        "picked_up_at": p.picked_up_at,
        "expired_at": p.expired_at,
        "returned_at": p.returned_at,
        "extended_hours": p.extended_hours,
    }


def compartment_view(row: CompartmentRow) -> CompartmentBrief:
    view = {"id": row.id, "size": row.size, "state": str(row.state), "reason": row.oos_reason,
            **reason_codes(row.out_of_service),
            **check_view(row.check_reason, row.check_detail, row.check_since)}  # fmt: skip
    return cast(CompartmentBrief, view)  # the reasons' two helpers fill in the rest


def status_view(kiosk: Kiosk) -> Status:
    """``GET /v1/status``: the kiosk at a glance."""
    alarms = [e.as_dict() for e in kiosk.store.events(limit=200, newest_first=True)
              if e.severity == "alarm"][:10]  # fmt: skip
    cfg = kiosk.config.kiosk
    return cast(Status, {
        "kiosk": {"id": cfg.id, "name": cfg.name, "version": __version__,
                  "demo": kiosk.config.demo, "operator_contact": cfg.operator_contact},
        "uptime_s": round(kiosk.uptime_s(), 1),
        "boards": kiosk.hw.board_status(),
        "compartments": compartment_counts(kiosk),
        "parcels": kiosk.store.counts(),
        "operations": [operation_view(kiosk.outcome(kiosk.store.op(lv.op_id)))
                       for lv in kiosk.live_ops()],
        "outbox_depth": kiosk.store.outbox_depth(),
        "keypad": kiosk.keypads.view("code"),
        "sign_in": kiosk.keypads.view("pin"),
        "mass_open_guard": kiosk.guard.view(),
        "fleet": kiosk.fleet_status(),
        "connections": kiosk.connections_status(),
        "clock": kiosk.timekeeper.view() if kiosk.timekeeper else None,
        "storage": kiosk.disk.view() if kiosk.disk else None,
        "alarms": alarms,
    })  # fmt: skip


def compartment_counts(kiosk: Kiosk) -> CompartmentCounts:
    comps = kiosk.compartments_view()
    by_state: dict[str, int] = {}
    for c in comps:
        by_state[c["state"]] = by_state.get(c["state"], 0) + 1
    return {
        "total": len(comps),
        "by_state": by_state,
        "free_by_size": kiosk.free_by_size(),
        "doors_open": sum(1 for c in comps if c["door"] == "OPEN"),
        "open_doors": [c["id"] for c in comps if c["door"] == "OPEN"],
        "needs_check": [c["id"] for c in comps if c["check"] is not None],
    }
