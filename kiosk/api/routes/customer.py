"""The customer's routes: a pickup, its door again, and a problem reported at the screen."""

from fastapi import APIRouter

from kiosk.api.auth import Token
from kiosk.api.models import AgainRequest, PickupRequest, ProblemRequest, RowId
from kiosk.api.views import operation_view
from kiosk.core import Kiosk
from kiosk.domain import Role
from kiosk.problems import ProblemReports
from kiosk.protocol.views import OperationView


def router(kiosk: Kiosk) -> APIRouter:
    api = APIRouter()
    problems = ProblemReports(kiosk)

    @api.post("/v1/pickup", response_model=OperationView)
    async def pickup(body: PickupRequest) -> OperationView:
        return operation_view(await kiosk.pickup(body.code))

    @api.post("/v1/operations/{op_id}/again", response_model=OperationView)
    async def pickup_again(op_id: RowId, body: AgainRequest) -> OperationView:
        return operation_view(await kiosk.pickup_again(op_id, body.token))

    @api.post("/v1/operations/{op_id}/problem", response_model=OperationView)
    async def report_problem(op_id: RowId, body: ProblemRequest, tok: Token) -> OperationView:
        """A problem with the compartment of a pickup (anyone: the customer has no
        sign-in) or of one's own deposit (a courier), reported at the screen."""
        s = kiosk.session(tok, Role.COURIER, Role.TECHNICIAN) if tok else None
        return operation_view(problems.report(op_id, body.reason, s))

    return api
