"""The daemon's local API: HTTP+JSON on a Unix socket, with an event stream.

Requests are validated by pydantic models and the OpenAPI schema is served at
``/openapi.json``. Every route is a thin call into :class:`kiosk.core.Kiosk` or
:class:`kiosk.technician.Technician`; errors of the :class:`LockerError` family become
JSON ``{"error": ..., "kind": ...}`` with a status a client can act on.
"""

import asyncio
import inspect
import json
import math
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi import Path as ApiPath
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from kiosk import __version__
from kiosk.access.people import people
from kiosk.access.sessions import Session
from kiosk.access.throttle import wait_shown
from kiosk.api.listeners.connection import listener_of
from kiosk.broadcast import CLOSED
from kiosk.core import DoorDidNotOpen, DoorUnavailable, Kiosk
from kiosk.courier import Courier
from kiosk.domain import ParcelState, Role
from kiosk.doors.guard import OpensPaused
from kiosk.errors import (
    AuthError,
    ConflictError,
    Forbidden,
    InvalidInput,
    LockerError,
    NotFound,
    Throttled,
    WrongCodeLockedOut,
)
from kiosk.notify import mask_recipient
from kiosk.problems import ProblemReports
from kiosk.reasons import ProblemReason, check_view, reason_codes
from kiosk.store import CompartmentRow, ParcelRow
from kiosk.store.base import StoreError
from kiosk.technician import Technician
from kiosk.technician.board_tools import BoardTools
from kiosk.technician.bus_tools import BusTools

STATUS_FOR: list[tuple[type[LockerError], int]] = [
    (Throttled, 429),
    (Forbidden, 403),
    (AuthError, 401),
    (NotFound, 404),
    (ConflictError, 409),
    (InvalidInput, 400),
    (DoorDidNotOpen, 502),
    (DoorUnavailable, 503),
    (OpensPaused, 503),
    (StoreError, 503),
]

TOUCHSCREEN_ONLY = "this stream is the touchscreen's own: it is only on the touchscreen's socket"

Barcode = Annotated[str, Field(min_length=1, max_length=512)]
# Row ids: SQLite's INTEGER is 64-bit, and a larger number must be a 422, not a 500.
RowId = Annotated[int, ApiPath(ge=1, le=2**63 - 1)]
Seq = Annotated[int, Query(ge=0, le=2**63 - 1)]
Text = Annotated[str, Field(max_length=200)]


class PickupRequest(BaseModel):
    code: Annotated[str, Field(min_length=1, max_length=40)]


class AgainRequest(BaseModel):
    token: Annotated[str, Field(min_length=1, max_length=64)]


class SignInRequest(BaseModel):
    pin: Annotated[str, Field(max_length=40)] | None = None
    user: Annotated[str, Field(max_length=64)] | None = None
    badge: Annotated[str, Field(max_length=256)] | None = None


class AnnounceRequest(BaseModel):
    barcode: Barcode
    size: Annotated[str, Field(min_length=1, max_length=16)]
    phone: Text | None = None
    email: Text | None = None


class DepositRequest(BaseModel):
    barcode: Barcode
    size: Annotated[str, Field(min_length=1, max_length=16)] | None = None
    phone: Text | None = None
    email: Text | None = None
    accessible: bool = False


class ConfirmRequest(BaseModel):
    answer: Literal["stored", "open_again", "cancel"]


class ProblemRequest(BaseModel):
    reason: ProblemReason


class ReasonRequest(BaseModel):
    reason: Annotated[str, Field(min_length=1, max_length=200)]


class ExtendRequest(BaseModel):
    hours: Annotated[float, Field(gt=0, le=24 * 30, allow_inf_nan=False)]


class SelfTestRequest(BaseModel):
    take_out_of_service: bool = False
    include_parcels: bool = False


class OpenAllRequest(BaseModel):
    include_parcels: bool = False


class DiscoverRequest(BaseModel):
    boards: list[Annotated[str, Field(min_length=1, max_length=32)]] | None = None


class BusScanRequest(BaseModel):
    boards: list[Annotated[str, Field(min_length=1, max_length=32)]] | None = None


class TraceRequest(BaseModel):
    on: bool


def staff_key_text(key: bytes) -> str:
    """The kiosk's staff key, for the back office to register."""
    # Imported here: the sealing code loads cryptography, which a kiosk without a fleet
    # link otherwise never needs.
    from kiosk.fleet.sealed import kiosk_staff_key, public_text

    return public_text(kiosk_staff_key(key))


def parcel_view(p: ParcelRow) -> dict[str, Any]:
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


def compartment_view(row: CompartmentRow) -> dict[str, Any]:
    return {"id": row.id, "size": row.size, "state": str(row.state), "reason": row.oos_reason,
            **reason_codes(row.out_of_service),
            **check_view(row.check_reason, row.check_detail, row.check_since)}  # fmt: skip


def _without_telemetry() -> dict[str, Any]:
    """FastAPI's own OpenTelemetry spans, metrics and logs for every request, off.

    The kiosk has nowhere to send them (its event log and the fleet link are its
    telemetry), and they cost every request time and the daemon memory. FastAPI
    releases before the ``telemetry`` option have none to turn off.
    """
    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}
    off = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}
    return {"telemetry": off}


def create_app(kiosk: Kiosk, courier_uc: Courier, tech: Technician) -> FastAPI:
    app = FastAPI(
        title="locker-kiosk",
        version=__version__,
        description="Local API of a parcel-locker kiosk (Unix socket).",
        **_without_telemetry(),
    )

    @app.exception_handler(LockerError)
    async def locker_error(request: Request, exc: LockerError) -> JSONResponse:
        status = next((code for cls, code in STATUS_FOR if isinstance(exc, cls)), 500)
        body: dict[str, Any] = {"error": str(exc), "kind": type(exc).__name__}
        details = {k: getattr(exc, k) for k in ("reason", "field", "compartment", "size")
                   if getattr(exc, k, None) is not None}  # fmt: skip
        if details:
            body["details"] = details
        headers = {}
        wait = getattr(exc, "retry_after", None)  # a lockout, or a wrong code that began one
        if isinstance(exc, (Throttled, WrongCodeLockedOut)) and wait is not None:
            body["retry_after"] = wait_shown(wait)
            headers["Retry-After"] = str(math.ceil(wait))
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own answer echoes the input, and the input may be a pickup code or a
        # PIN: keep its shape ({"detail": [...]}) with where and what only.
        detail = [{k: err[k] for k in ("loc", "msg", "type") if k in err} for err in exc.errors()]
        return JSONResponse({"detail": detail}, status_code=422)

    def token(authorization: Annotated[str | None, Header()] = None) -> str | None:
        if authorization and authorization.lower().startswith("bearer "):
            return authorization[7:].strip()
        return None

    def courier(tok: Annotated[str | None, Depends(token)]) -> Session:
        return kiosk.session(tok, Role.COURIER, Role.TECHNICIAN)

    def technician(tok: Annotated[str | None, Depends(token)]) -> Session:
        return kiosk.session(tok, Role.TECHNICIAN)

    Courier = Annotated[Session, Depends(courier)]
    Tech = Annotated[Session, Depends(technician)]

    # -- reading --------------------------------------------------------------------

    @app.get("/v1/status")
    async def status() -> dict[str, Any]:
        comps = kiosk.compartments_view()
        by_state: dict[str, int] = {}
        for c in comps:
            by_state[c["state"]] = by_state.get(c["state"], 0) + 1
        alarms = [e.as_dict() for e in kiosk.store.events(limit=200, newest_first=True)
                  if e.severity == "alarm"][:10]  # fmt: skip
        cfg = kiosk.config.kiosk
        return {
            "kiosk": {"id": cfg.id, "name": cfg.name, "version": __version__,
                      "demo": kiosk.config.demo, "operator_contact": cfg.operator_contact},
            "uptime_s": round(kiosk.uptime_s(), 1),
            "boards": kiosk.hw.board_status(),
            "compartments": {
                "total": len(comps),
                "by_state": by_state,
                "free_by_size": kiosk.free_by_size(),
                "doors_open": sum(1 for c in comps if c["door"] == "OPEN"),
                "open_doors": [c["id"] for c in comps if c["door"] == "OPEN"],
                "needs_check": [c["id"] for c in comps if c["check"] is not None],
            },
            "parcels": kiosk.store.counts(),
            "operations": [kiosk.op_view(kiosk.store.op(lv.op_id)) for lv in kiosk.live_ops()],
            "outbox_depth": kiosk.store.outbox_depth(),
            "keypad": kiosk.keypads.view("code"),
            "sign_in": kiosk.keypads.view("pin"),
            "mass_open_guard": kiosk.guard.view(),
            "fleet": kiosk.fleet_status(),
            "connections": kiosk.connections_status(),
            "clock": kiosk.timekeeper.view() if kiosk.timekeeper else None,
            "storage": kiosk.disk.view() if kiosk.disk else None,
            "alarms": alarms,
        }  # fmt: skip

    @app.get("/v1/kiosk")
    async def kiosk_info() -> dict[str, Any]:
        """What a front end needs to draw this kiosk: names, sizes, the wall, settings."""
        return kiosk.info()

    @app.get("/v1/compartments")
    async def compartments() -> dict[str, Any]:
        return {"compartments": kiosk.compartments_view()}

    @app.get("/v1/parcels")
    async def parcels(
        state: ParcelState | None = None, limit: Annotated[int, Query(ge=1, le=10000)] = 1000
    ) -> dict[str, Any]:
        return {"parcels": [parcel_view(p) for p in kiosk.store.parcels(state, limit)]}

    @app.get("/v1/events")
    async def events(
        after: Seq = 0,
        limit: Annotated[int, Query(ge=1, le=10000)] = 100,
        newest_first: bool = False,
    ) -> dict[str, Any]:
        rows = kiosk.store.events(after, limit, newest_first)
        return {"events": [e.as_dict() for e in rows]}

    @app.get("/v1/events/verify")
    async def verify() -> dict[str, Any]:
        r = kiosk.store.verify_events()
        return {"ok": r.ok, "rows": r.rows, "first_bad_seq": r.first_bad_seq, "reason": r.reason}

    @app.get("/v1/stream")
    async def stream(after: Seq | None = None) -> StreamingResponse:
        """Server-sent events. With ``after``, logged events after that sequence number are
        replayed first, so a client that read the log and then connects misses nothing.
        Scans from the kiosk's scanner are not on it: see ``/v1/touchscreen/stream``."""
        return event_stream(kiosk, after, scans=False)

    @app.get("/v1/touchscreen/stream")
    async def touchscreen_stream(request: Request, after: Seq | None = None) -> StreamingResponse:
        """The same stream with the scanner's scans (``{"type": "scan", "text": ...}``), for
        the touchscreen only: a scan may be a pickup code. Only on the touchscreen's own
        socket, which only the touchscreen's group may use."""
        if listener_of(request.scope) != "touchscreen":
            raise Forbidden(TOUCHSCREEN_ONLY)
        return event_stream(kiosk, after, scans=True)

    @app.get("/v1/operations/{op_id}")
    async def operation(op_id: RowId, wait: Annotated[float, Query(ge=0, le=60)] = 0) -> Any:
        return await kiosk.wait_operation(op_id, wait)

    @app.get("/v1/jobs/{job_id}")
    async def job(job_id: RowId, wait: Annotated[float, Query(ge=0, le=60)] = 0) -> Any:
        return await tech.wait_job(job_id, wait)

    # -- customer -------------------------------------------------------------------

    @app.post("/v1/pickup")
    async def pickup(body: PickupRequest) -> dict[str, Any]:
        return await kiosk.pickup(body.code)

    @app.post("/v1/operations/{op_id}/again")
    async def pickup_again(op_id: RowId, body: AgainRequest) -> dict[str, Any]:
        return await kiosk.pickup_again(op_id, body.token)

    # -- sessions -------------------------------------------------------------------

    @app.post("/v1/sessions")
    async def sign_in(body: SignInRequest) -> dict[str, Any]:
        """Sign in with ``user`` (a name) or ``badge``, and ``pin``."""
        s = await kiosk.sign_in(body.pin, body.user, body.badge)
        return {"token": s.token, "user": s.user, "role": str(s.role)}

    @app.delete("/v1/sessions")
    async def sign_out(tok: Annotated[str | None, Depends(token)]) -> dict[str, Any]:
        kiosk.sign_out(tok)
        return {"ok": True}

    # -- courier --------------------------------------------------------------------

    @app.post("/v1/announcements", status_code=201)
    async def announce(body: AnnounceRequest, s: Courier) -> dict[str, Any]:
        return parcel_view(courier_uc.announce(s, body.barcode, body.size, body.phone, body.email))

    @app.get("/v1/deposits/lookup")
    async def deposit_lookup(
        barcode: Annotated[str, Query(min_length=1, max_length=512)], s: Courier
    ) -> dict[str, Any]:
        return courier_uc.lookup(s, barcode)

    @app.post("/v1/deposits")
    async def deposit(body: DepositRequest, s: Courier) -> dict[str, Any]:
        return await courier_uc.deposit(s, body.barcode, body.size, body.phone, body.email,
                                   body.accessible)  # fmt: skip

    @app.post("/v1/operations/{op_id}/bigger")
    async def bigger(op_id: RowId, s: Courier) -> dict[str, Any]:
        return await courier_uc.bigger(s, op_id)

    @app.post("/v1/operations/{op_id}/not-opened")
    async def not_opened(op_id: RowId, s: Courier) -> dict[str, Any]:
        return await courier_uc.not_opened(s, op_id)

    @app.post("/v1/operations/{op_id}/reopen")
    async def reopen(op_id: RowId, s: Courier) -> dict[str, Any]:
        return await courier_uc.reopen(s, op_id)

    @app.post("/v1/operations/{op_id}/cancel")
    async def cancel(op_id: RowId, s: Courier) -> dict[str, Any]:
        return courier_uc.cancel(s, op_id)

    @app.post("/v1/operations/{op_id}/confirm")
    async def confirm(op_id: RowId, body: ConfirmRequest, s: Courier) -> dict[str, Any]:
        return await courier_uc.answer(s, op_id, body.answer)

    problems = ProblemReports(kiosk)

    @app.post("/v1/operations/{op_id}/problem")
    async def report_problem(
        op_id: RowId, body: ProblemRequest, tok: Annotated[str | None, Depends(token)]
    ) -> dict[str, Any]:
        """A problem with the compartment of a pickup (anyone: the customer has no
        sign-in) or of one's own deposit (a courier), reported at the screen."""
        s = kiosk.session(tok, Role.COURIER, Role.TECHNICIAN) if tok else None
        return problems.report(op_id, body.reason, s)

    @app.post("/v1/returns/next")
    async def next_return(s: Courier) -> dict[str, Any]:
        view = await courier_uc.next_return(s)
        if view is None:
            raise NotFound("No expired parcels to collect.")
        return view

    # -- technician -----------------------------------------------------------------

    @app.post("/v1/compartments/open-all")
    async def open_all(s: Tech, body: OpenAllRequest | None = None) -> dict[str, Any]:
        return tech.start_open_all(s, bool(body and body.include_parcels)).view()

    @app.post("/v1/compartments/{cid}/open")
    async def open_one(cid: str, s: Tech) -> dict[str, Any]:
        return await tech.open(s, cid)

    @app.post("/v1/compartments/{cid}/out-of-service")
    async def out_of_service(cid: str, body: ReasonRequest, s: Tech) -> dict[str, Any]:
        return compartment_view(tech.out_of_service(s, cid, body.reason))

    @app.post("/v1/compartments/{cid}/in-service")
    async def in_service(cid: str, s: Tech) -> dict[str, Any]:
        return compartment_view(tech.in_service(s, cid))

    @app.post("/v1/compartments/{cid}/clear-check")
    async def clear_check(cid: str, s: Tech) -> dict[str, Any]:
        """A technician checked the compartment (``check`` in its view said why): it may
        be handed out again. 409 while its item sensor sees something where no parcel
        is recorded."""
        return compartment_view(tech.clear_check(s, cid))

    @app.post("/v1/parcels/{barcode:path}/extend")
    async def extend_hold(barcode: str, body: ExtendRequest, s: Tech) -> dict[str, Any]:
        """The parcel's hold ends ``hours`` later (within ``policy.max_extend_hours`` in
        all); an expired parcel still in its compartment is stored again."""
        return parcel_view(tech.extend_hold(barcode, body.hours, s.user))

    @app.get("/v1/users")
    async def users(s: Tech) -> dict[str, Any]:
        """Who may sign in here: local users and the operator's central staff, each with
        its ``source``; ``in_force`` false for a central person a local user of the same
        name shadows. ``staff``: the staff list in force, whether it is the network's
        latest (``sync``), and the key the back office seals it to."""
        return {
            "users": [p.as_dict() for p in people(kiosk.store)],
            "staff": {
                "version": kiosk.store.staff_version(),
                "sync": kiosk.staff_sync.view(),
                "key": staff_key_text(kiosk.key),
            },
        }

    @app.post("/v1/guard/reset")
    async def guard_reset(s: Tech) -> dict[str, Any]:
        """Doors may open again after the mass-open guard tripped (a technician looked)."""
        kiosk.guard.reset(s.user)
        return kiosk.guard.view()

    @app.post("/v1/clock/confirm")
    async def clock_confirm(s: Tech) -> dict[str, Any]:
        """The wall clock is right (a technician checked it): parcels' deadlines follow
        it again after a jump, or before the first synchronisation."""
        if kiosk.timekeeper is None:
            raise ConflictError("This kiosk does not watch its clock.", "clock_trusted")
        return kiosk.timekeeper.confirm(s.user)

    @app.post("/v1/selftest")
    async def selftest(body: SelfTestRequest, s: Tech) -> dict[str, Any]:
        return tech.start_selftest(s, body.take_out_of_service, body.include_parcels).view()

    tools = BoardTools(kiosk, tech)
    buses = BusTools(kiosk, tech)

    @app.post("/v1/boards/{name}/scan-bus")
    async def scan_bus(name: str, s: Tech) -> dict[str, Any]:
        """The addresses that answer on the board's bus, and which configured board each is."""
        return await buses.scan_bus(s, name)

    @app.post("/v1/bus-scan")
    async def bus_scan(s: Tech, body: BusScanRequest | None = None) -> dict[str, Any]:
        """A job: every bus (of ``boards``, default all) asked for every kind of board."""
        return buses.start_scan(s, body.boards if body else None).view()

    @app.post("/v1/boards/{name}/trace")
    async def trace(name: str, body: TraceRequest, s: Tech) -> dict[str, Any]:
        """The wire trace on or off for one board; which boards are traced after."""
        return buses.trace(s, name, body.on)

    @app.get("/v1/trace")
    async def trace_view() -> dict[str, Any]:
        """Which boards the wire trace is on for, its file and its bounds."""
        return buses.trace_view()

    @app.post("/v1/discover")
    async def discover(s: Tech, body: DiscoverRequest | None = None) -> dict[str, Any]:
        """A job: fire every channel of each board in turn and report which door opened."""
        return tools.start_discover(s, body.boards if body else None).view()

    return app


def event_stream(kiosk: Kiosk, after: int | None, scans: bool) -> StreamingResponse:
    """The bus as server-sent events, after a replay of the log past ``after`` if given."""

    def frame(msg: dict[str, Any]) -> bytes:
        return f"data: {json.dumps(msg, default=str)}\n\n".encode()

    async def gen() -> AsyncIterator[bytes]:
        async with kiosk.bus.subscribe(scans=scans) as queue:
            yield b": connected\n\n"
            last = after
            if after is not None:
                for event in kiosk.store.events(after, limit=10000):
                    last = event.seq
                    yield frame({"type": "event", **event.as_dict()})
            while True:
                try:
                    async with asyncio.timeout(15):  # not wait_for: see dispatch.py
                        msg = await queue.get()
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if msg is CLOSED or kiosk.bus.closed:
                    return
                if last is not None and msg.get("type") == "event" and msg["seq"] <= last:
                    continue  # already replayed
                yield frame(msg)

    return StreamingResponse(gen(), media_type="text/event-stream")
