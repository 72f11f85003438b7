"""The office's HTTP side. For now: ``GET /health``, what one ``serve`` process is doing.

A load balancer or a person asks it whether this process is connected to the broker,
reaching its database and keeping up; the console's pages are added to this app.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse


def make_app(status: Callable[[], dict[str, Any]]) -> FastAPI:
    app = FastAPI(title="locker-office", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/health")
    def health() -> JSONResponse:
        body = status()
        body["now"] = time.time()
        return JSONResponse(body, status_code=200 if body["ok"] else 503)

    return app
