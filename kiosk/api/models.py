"""The API's request bodies, and the response models that describe its answers.

The answers' shapes are :mod:`kiosk.protocol.views`, the TypedDicts a front end reads;
here they become the routes' response models, so ``/openapi.json`` describes every
answer and pydantic checks each one on its way out.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path as ApiPath
from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from kiosk.protocol import views
from kiosk.reasons import ProblemReason

Barcode = Annotated[str, Field(min_length=1, max_length=512)]
# Row ids: SQLite's INTEGER is 64-bit, and a larger number must be a 422, not a 500.
RowId = Annotated[int, ApiPath(ge=1, le=2**63 - 1)]
Seq = Annotated[int, Query(ge=0, le=2**63 - 1)]
Text = Annotated[str, Field(max_length=200)]
Size = Annotated[str, Field(min_length=1, max_length=16)]
BoardName = Annotated[str, Field(min_length=1, max_length=32)]


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
    size: Size
    phone: Text | None = None
    email: Text | None = None


class DepositRequest(BaseModel):
    barcode: Barcode
    size: Size | None = None
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
    boards: list[BoardName] | None = None


class BusScanRequest(BaseModel):
    boards: list[BoardName] | None = None


class TraceRequest(BaseModel):
    on: bool


def _keep_unknown_keys() -> None:
    """Every answer's shape keeps a key it does not declare: pydantic would otherwise
    drop it on the way out, and a front end would silently lose what the daemon said.
    The protocol's TypedDicts import no pydantic, so the setting is made here."""
    keep = ConfigDict(extra="allow")
    for name in views.__all__:
        shape = getattr(views, name)
        if isinstance(shape, type) and issubclass(shape, dict):
            shape.__pydantic_config__ = keep  # type: ignore[attr-defined]


_keep_unknown_keys()
