"""The technician's routes: doors, compartments' service, holds, people, the guards,
the clock, and the board and bus tools."""

from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends

from kiosk.access.people import people
from kiosk.access.sessions import Session
from kiosk.api.auth import session_of
from kiosk.api.models import (
    BusScanRequest,
    DiscoverRequest,
    ExtendRequest,
    OpenAllRequest,
    ReasonRequest,
    SelfTestRequest,
    TraceRequest,
)
from kiosk.api.views import compartment_view, operation_view, parcel_view
from kiosk.core import Kiosk
from kiosk.domain import Role
from kiosk.errors import ConflictError
from kiosk.protocol.views import (
    BusScan,
    ClockView,
    CompartmentBrief,
    GuardView,
    JobView,
    OperationView,
    ParcelView,
    PersonView,
    TraceView,
    Users,
)
from kiosk.technician import Technician
from kiosk.technician.board_tools import BoardTools
from kiosk.technician.bus_tools import BusTools


def staff_key_text(key: bytes) -> str:
    """The kiosk's staff key, for the back office to register."""
    # Imported here: the sealing code loads cryptography, which a kiosk without a fleet
    # link otherwise never needs.
    from kiosk.fleet.sealed import kiosk_staff_key, public_text

    return public_text(kiosk_staff_key(key))


def router(kiosk: Kiosk, tech: Technician, buses: BusTools) -> APIRouter:
    api = APIRouter()
    Tech = Annotated[Session, Depends(session_of(kiosk, Role.TECHNICIAN))]
    tools = BoardTools(kiosk, tech)

    @api.post("/v1/compartments/open-all", response_model=JobView)
    async def open_all(s: Tech, body: OpenAllRequest | None = None) -> JobView:
        return tech.start_open_all(s, bool(body and body.include_parcels)).view()

    @api.post("/v1/compartments/{cid}/open", response_model=OperationView)
    async def open_one(cid: str, s: Tech) -> OperationView:
        return operation_view(await tech.open(s, cid))

    @api.post("/v1/compartments/{cid}/out-of-service", response_model=CompartmentBrief)
    async def out_of_service(cid: str, body: ReasonRequest, s: Tech) -> CompartmentBrief:
        return compartment_view(tech.out_of_service(s, cid, body.reason))

    @api.post("/v1/compartments/{cid}/in-service", response_model=CompartmentBrief)
    async def in_service(cid: str, s: Tech) -> CompartmentBrief:
        return compartment_view(tech.in_service(s, cid))

    @api.post("/v1/compartments/{cid}/clear-check", response_model=CompartmentBrief)
    async def clear_check(cid: str, s: Tech) -> CompartmentBrief:
        """A technician checked the compartment (``check`` in its view said why): it may
        be handed out again. 409 while its item sensor sees something where no parcel
        is recorded."""
        return compartment_view(tech.clear_check(s, cid))

    @api.post("/v1/parcels/{barcode:path}/extend", response_model=ParcelView)
    async def extend_hold(barcode: str, body: ExtendRequest, s: Tech) -> ParcelView:
        """The parcel's hold ends ``hours`` later (within ``policy.max_extend_hours`` in
        all); an expired parcel still in its compartment is stored again."""
        return parcel_view(tech.extend_hold(barcode, body.hours, s.user))

    @api.get("/v1/users", response_model=Users)
    async def users(s: Tech) -> Any:
        """Who may sign in here: local users and the operator's central staff, each with
        its ``source``; ``in_force`` false for a central person a local user of the same
        name shadows. ``staff``: the staff list in force, whether it is the network's
        latest (``sync``), and the key the back office seals it to."""
        found = [cast(PersonView, p.as_dict()) for p in people(kiosk.store)]
        return {
            "users": found,
            "staff": {
                "version": kiosk.store.staff_version(),
                "sync": kiosk.staff_sync.view(),
                "key": staff_key_text(kiosk.key),
            },
        }

    @api.post("/v1/guard/reset", response_model=GuardView)
    async def guard_reset(s: Tech) -> GuardView:
        """Doors may open again after the mass-open guard tripped (a technician looked)."""
        kiosk.guard.reset(s.user)
        return kiosk.guard.view()

    @api.post("/v1/clock/confirm", response_model=ClockView)
    async def clock_confirm(s: Tech) -> ClockView:
        """The wall clock is right (a technician checked it): parcels' deadlines follow
        it again after a jump, or before the first synchronisation."""
        if kiosk.timekeeper is None:
            raise ConflictError("This kiosk does not watch its clock.", "clock_trusted")
        return kiosk.timekeeper.confirm(s.user)

    @api.post("/v1/selftest", response_model=JobView)
    async def selftest(body: SelfTestRequest, s: Tech) -> JobView:
        return tech.start_selftest(s, body.take_out_of_service, body.include_parcels).view()

    @api.post("/v1/boards/{name}/scan-bus", response_model=BusScan)
    async def scan_bus(name: str, s: Tech) -> BusScan:
        """The addresses that answer on the board's bus, and which configured board each is."""
        return await buses.scan_bus(s, name)

    @api.post("/v1/bus-scan", response_model=JobView)
    async def bus_scan(s: Tech, body: BusScanRequest | None = None) -> JobView:
        """A job: every bus (of ``boards``, default all) asked for every kind of board."""
        return buses.start_scan(s, body.boards if body else None).view()

    @api.post("/v1/boards/{name}/trace", response_model=TraceView)
    async def trace(name: str, body: TraceRequest, s: Tech) -> TraceView:
        """The wire trace on or off for one board; which boards are traced after."""
        return buses.trace(s, name, body.on)

    @api.post("/v1/discover", response_model=JobView)
    async def discover(s: Tech, body: DiscoverRequest | None = None) -> JobView:
        """A job: fire every channel of each board in turn and report which door opened."""
        return tools.start_discover(s, body.boards if body else None).view()

    return api
