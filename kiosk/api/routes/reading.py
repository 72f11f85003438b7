"""What anyone on the socket may read: the kiosk, its compartments, parcels and events,
and the progress of an operation or a job."""

from typing import Annotated, Any, cast

from fastapi import APIRouter, Query

from kiosk.api.models import RowId, Seq
from kiosk.api.views import operation_view, parcel_view, status_view
from kiosk.core import Kiosk
from kiosk.domain import ParcelState
from kiosk.protocol.views import (
    Compartments,
    CompartmentView,
    Events,
    EventView,
    JobView,
    KioskInfo,
    OperationView,
    Parcels,
    Status,
    TraceView,
    Verification,
)
from kiosk.technician import Technician
from kiosk.technician.bus_tools import BusTools

Limit = Annotated[int, Query(ge=1, le=10000)]
Wait = Annotated[float, Query(ge=0, le=60)]


def router(kiosk: Kiosk, tech: Technician, buses: BusTools) -> APIRouter:
    api = APIRouter()

    @api.get("/v1/status", response_model=Status)
    async def status() -> Status:
        return status_view(kiosk)

    @api.get("/v1/kiosk", response_model=KioskInfo)
    async def kiosk_info() -> Any:
        """What a front end needs to draw this kiosk: names, sizes, the wall, settings."""
        return kiosk.info()

    @api.get("/v1/compartments", response_model=Compartments)
    async def compartments() -> Compartments:
        return {"compartments": cast(list[CompartmentView], kiosk.compartments_view())}

    @api.get("/v1/parcels", response_model=Parcels)
    async def parcels(state: ParcelState | None = None, limit: Limit = 1000) -> Parcels:
        return {"parcels": [parcel_view(p) for p in kiosk.store.parcels(state, limit)]}

    @api.get("/v1/events", response_model=Events)
    async def events(after: Seq = 0, limit: Limit = 100, newest_first: bool = False) -> Events:
        rows = kiosk.store.events(after, limit, newest_first)
        return {"events": [cast(EventView, e.as_dict()) for e in rows]}

    @api.get("/v1/events/verify", response_model=Verification)
    async def verify() -> Verification:
        r = kiosk.store.verify_events()
        return {"ok": r.ok, "rows": r.rows, "first_bad_seq": r.first_bad_seq, "reason": r.reason}

    @api.get("/v1/operations/{op_id}", response_model=OperationView)
    async def operation(op_id: RowId, wait: Wait = 0) -> OperationView:
        return operation_view(await kiosk.wait_operation(op_id, wait))

    @api.get("/v1/jobs/{job_id}", response_model=JobView)
    async def job(job_id: RowId, wait: Wait = 0) -> JobView:
        return await tech.wait_job(job_id, wait)

    @api.get("/v1/trace", response_model=TraceView)
    async def trace_view() -> TraceView:
        """Which boards the wire trace is on for, its file and its bounds."""
        return buses.trace_view()

    return api
