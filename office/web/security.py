"""The console's HTTP hardening: headers on every answer, a cap on request bodies, the
client's address (believing X-Forwarded-For only from a configured proxy, which uvicorn
applies) and the Origin check of every form."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY = 64 * 1024
"""No form of the console needs more; a larger body is refused (413) before it is read."""

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
"""No script at all: the console is server-rendered HTML and plain forms."""

HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


async def add_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if not request.url.path.startswith("/static/"):
        # every page is behind a sign-in and many hold personal data: no copy anywhere
        response.headers["cache-control"] = "no-store"
    if request.url.scheme == "https":
        response.headers["strict-transport-security"] = "max-age=31536000"
    return response


class BodyLimit:
    """Refuse a request body larger than :data:`MAX_BODY`, declared or streamed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > MAX_BODY:
            await PlainTextResponse("request body too large", 413)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > MAX_BODY:
                raise TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except TooLarge:
            await PlainTextResponse("request body too large", 413)(scope, receive, send)


class TooLarge(Exception):
    pass


def client_address(request: Request) -> str:
    """The client as uvicorn found it (through a trusted proxy's X-Forwarded-For only)."""
    return request.client.host if request.client else "unknown"


def expected_origin(request: Request, public_origin: str | None) -> str:
    if public_origin:
        return public_origin.rstrip("/")
    return f"{request.url.scheme}://{request.headers.get('host', '')}"


def same_origin(request: Request, public_origin: str | None) -> bool:
    """Whether a form came from the console's own pages: its Origin (or, where a browser
    sends none, its Referer) is the console's."""
    wanted = expected_origin(request, public_origin)
    origin = request.headers.get("origin")
    if origin is not None:
        return origin == wanted
    referer = request.headers.get("referer", "")
    return referer == wanted or referer.startswith(wanted + "/")
