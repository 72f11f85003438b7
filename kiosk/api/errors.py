"""How the LockerError family and invalid requests become JSON answers."""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from kiosk.access.throttle import wait_shown
from kiosk.core import DoorDidNotOpen, DoorUnavailable
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
from kiosk.store.base import StoreError

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


async def locker_error(request: Request, exc: Exception) -> JSONResponse:
    """``{"error": ..., "kind": ...}`` with a status a client can act on."""
    assert isinstance(exc, LockerError)
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


async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
    # FastAPI's own answer echoes the input, and the input may be a pickup code or a
    # PIN: keep its shape ({"detail": [...]}) with where and what only.
    assert isinstance(exc, RequestValidationError)
    detail = [{k: err[k] for k in ("loc", "msg", "type") if k in err} for err in exc.errors()]
    return JSONResponse({"detail": detail}, status_code=422)


def install(app: FastAPI) -> None:
    app.add_exception_handler(LockerError, locker_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
