"""The office's HTTP side: ``GET /health`` for a load balancer, and the web console.

The console (docs/office.md, "The console") is server-rendered HTML with plain forms
and no script; its pages are in :mod:`office.web.pages`, its actions in
:mod:`office.web.posts`, signing in and out in :mod:`office.web.auth`, and what they
share in :mod:`office.web.console`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from office.web import auth, exports, forms, pages, posts, security, staff_page
from office.web.console import Console, NotSignedIn, PageError, Refused, console_of
from office.web.i18n import N_

log = logging.getLogger("office.web")
STATIC = Path(__file__).with_name("static")


def make_app(status: Callable[[], dict[str, Any]], console: Console | None = None) -> FastAPI:
    app = FastAPI(title="locker-office", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/health")
    def health() -> JSONResponse:
        body = status()
        body["now"] = time.time()
        return JSONResponse(body, status_code=200 if body["ok"] else 503)

    if console is not None:
        _console(app, console)
    return app


def _console(app: FastAPI, console: Console) -> None:
    app.state.console = console
    app.middleware("http")(security.add_headers)
    app.add_middleware(security.BodyLimit)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in (auth.router, pages.router, posts.router, exports.router, staff_page.router):
        app.include_router(router)
    app.add_exception_handler(NotSignedIn, _to_login)
    app.add_exception_handler(Refused, _refused)
    app.add_exception_handler(PageError, _page_error)
    app.add_exception_handler(forms.BadInput, _bad_input)
    app.add_exception_handler(RequestValidationError, _bad_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _server_error)


def _error(request: Request, status: int, message: str, field: str | None = None) -> Response:
    return console_of(request).render(
        request, "error.html", status, code=status, message=message, field=field
    )


async def _to_login(request: Request, _exc: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        target = "/"
    return RedirectResponse(f"/login?next={quote(forms.next_path(target), safe='')}", 303)


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return _error(request, 403, exc.message)


async def _page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    return _error(request, exc.status, exc.message)


async def _bad_input(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, forms.BadInput)
    return _error(request, 400, exc.message, exc.field)


async def _bad_request(request: Request, _exc: Exception) -> Response:
    return _error(request, 400, N_("This request was not understood."))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return _error(request, 404, N_("There is no such page."))
    if exc.status_code == 405:
        return _error(request, 405, N_("This page cannot be used that way."))
    return _error(request, exc.status_code, N_("This request was not understood."))


async def _server_error(request: Request, exc: Exception) -> Response:
    # the type only: a message may hold what a person typed
    log.error("%s %s failed: %s", request.method, request.url.path, type(exc).__name__)
    return _error(request, 500, N_("Something went wrong on the office's side."))
