"""The daemon's local API: HTTP+JSON on a Unix socket, with an event stream.

Requests and answers are pydantic models (:mod:`kiosk.api.models`; the answers' shapes
are :mod:`kiosk.protocol.views`), and the OpenAPI schema served at ``/openapi.json``
describes both. Every route is a thin call into :class:`kiosk.core.Kiosk`, the courier's
use cases or :class:`kiosk.technician.Technician`, grouped by room in
:mod:`kiosk.api.routes`; errors of the :class:`LockerError` family become JSON
``{"error": ..., "kind": ...}`` with a status a client can act on
(:mod:`kiosk.api.errors`).
"""

import inspect
from typing import Any

from fastapi import FastAPI

from kiosk import __version__
from kiosk.api import errors
from kiosk.api.routes import courier, customer, reading, stream, technician
from kiosk.api.routes.stream import TOUCHSCREEN_ONLY, event_stream
from kiosk.core import Kiosk
from kiosk.courier import Courier
from kiosk.technician import Technician
from kiosk.technician.bus_tools import BusTools

__all__ = ["TOUCHSCREEN_ONLY", "create_app", "event_stream"]


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
    errors.install(app)
    buses = BusTools(kiosk, tech)
    app.include_router(reading.router(kiosk, tech, buses))
    app.include_router(stream.router(kiosk))
    app.include_router(customer.router(kiosk))
    app.include_router(courier.router(kiosk, courier_uc))
    app.include_router(technician.router(kiosk, tech, buses))
    return app
