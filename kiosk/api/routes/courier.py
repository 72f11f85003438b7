"""Sessions, and the courier's routes: announcements, deposits and their doors, returns."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from kiosk.access.sessions import Session
from kiosk.api.auth import Token, session_of
from kiosk.api.models import AnnounceRequest, ConfirmRequest, DepositRequest, RowId, SignInRequest
from kiosk.api.views import operation_view, parcel_view
from kiosk.core import Kiosk
from kiosk.courier import Courier
from kiosk.domain import Role
from kiosk.errors import NotFound
from kiosk.protocol.views import DepositLookup, Ok, OperationView, ParcelView, SessionView


def router(kiosk: Kiosk, courier_uc: Courier) -> APIRouter:
    api = APIRouter()
    Signed = Annotated[Session, Depends(session_of(kiosk, Role.COURIER, Role.TECHNICIAN))]

    @api.post("/v1/sessions", response_model=SessionView)
    async def sign_in(body: SignInRequest) -> SessionView:
        """Sign in with ``user`` (a name) or ``badge``, and ``pin``."""
        s = await kiosk.sign_in(body.pin, body.user, body.badge)
        return {"token": s.token, "user": s.user, "role": str(s.role)}

    @api.delete("/v1/sessions", response_model=Ok)
    async def sign_out(tok: Token) -> Ok:
        kiosk.sign_out(tok)
        return {"ok": True}

    @api.post("/v1/announcements", status_code=201, response_model=ParcelView)
    async def announce(body: AnnounceRequest, s: Signed) -> ParcelView:
        return parcel_view(courier_uc.announce(s, body.barcode, body.size, body.phone, body.email))

    @api.get("/v1/deposits/lookup", response_model=DepositLookup)
    async def deposit_lookup(
        barcode: Annotated[str, Query(min_length=1, max_length=512)], s: Signed
    ) -> DepositLookup:
        return courier_uc.lookup(s, barcode)

    @api.post("/v1/deposits", response_model=OperationView)
    async def deposit(body: DepositRequest, s: Signed) -> OperationView:
        outcome = await courier_uc.deposit(
            s, body.barcode, body.size, body.phone, body.email, body.accessible
        )
        return operation_view(outcome)

    @api.post("/v1/operations/{op_id}/bigger", response_model=OperationView)
    async def bigger(op_id: RowId, s: Signed) -> OperationView:
        return operation_view(await courier_uc.bigger(s, op_id))

    @api.post("/v1/operations/{op_id}/not-opened", response_model=OperationView)
    async def not_opened(op_id: RowId, s: Signed) -> OperationView:
        return operation_view(await courier_uc.not_opened(s, op_id))

    @api.post("/v1/operations/{op_id}/reopen", response_model=OperationView)
    async def reopen(op_id: RowId, s: Signed) -> OperationView:
        return operation_view(await courier_uc.reopen(s, op_id))

    @api.post("/v1/operations/{op_id}/cancel", response_model=OperationView)
    async def cancel(op_id: RowId, s: Signed) -> OperationView:
        return operation_view(courier_uc.cancel(s, op_id))

    @api.post("/v1/operations/{op_id}/confirm", response_model=OperationView)
    async def confirm(op_id: RowId, body: ConfirmRequest, s: Signed) -> OperationView:
        return operation_view(await courier_uc.answer(s, op_id, body.answer))

    @api.post("/v1/returns/next", response_model=OperationView)
    async def next_return(s: Signed) -> OperationView:
        view = await courier_uc.next_return(s)
        if view is None:
            raise NotFound("No expired parcels to collect.")
        return operation_view(view)

    return api
