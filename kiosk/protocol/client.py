"""A client for the daemon's local API (HTTP+JSON on a Unix socket).

Used by ``lockerctl`` (on the API socket) and by the touchscreen UI (on its own socket), which
runs as a separate process: this module therefore imports only httpx and the standard
library, never the core or a driver.

What a caller may rely on:

* every request returns the decoded JSON object of a 2xx answer (``{}`` for an empty body);
* an error answer raises :class:`ApiError` with the daemon's message for a person, its ``kind``
  and, when throttled, ``retry_after`` in seconds;
* a daemon that cannot be reached (no socket, nothing listening, no permission, no answer in
  time) raises :class:`DaemonUnreachable` with a message that says what to check.

Messages never contain a PIN or a pickup code: they come from the daemon, which keeps the same
rule, or name only the socket path.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket as sockets
from collections.abc import Iterator
from types import TracebackType
from typing import Any, cast
from urllib.parse import quote

import httpx

from kiosk.protocol.views import (
    ClockView,
    CompartmentBrief,
    Compartments,
    Events,
    GuardView,
    JobView,
    KioskInfo,
    OperationView,
    Parcels,
    ParcelView,
    SessionView,
    Status,
    TraceView,
    Verification,
)

__all__ = [
    "DEFAULT_SOCKET",
    "DEFAULT_TOUCHSCREEN_SOCKET",
    "ApiClient",
    "ApiError",
    "ClientError",
    "DaemonUnreachable",
    "socket_path",
    "touchscreen_socket_path",
]

DEFAULT_SOCKET = "/run/locker-kiosk/api.sock"
SOCKET_ENV = "LOCKER_SOCKET"
#: the touchscreen's own way in: its group only, a cap of its own, its stream of scans
DEFAULT_TOUCHSCREEN_SOCKET = "/run/locker-kiosk/touchscreen.sock"
TOUCHSCREEN_SOCKET_ENV = "LOCKER_TOUCHSCREEN_SOCKET"
# The daemon caps ``?wait=`` at 60 s; a longer wait would be refused as bad input.
MAX_WAIT_S = 60.0


def socket_path(cli_value: str | None) -> str:
    """The socket to use: the command-line value, else ``$LOCKER_SOCKET``, else the default."""
    return cli_value or os.environ.get(SOCKET_ENV) or DEFAULT_SOCKET


def touchscreen_socket_path(cli_value: str | None) -> str:
    """The touchscreen's socket: the command-line value, else ``$LOCKER_TOUCHSCREEN_SOCKET``,
    else the default."""
    return cli_value or os.environ.get(TOUCHSCREEN_SOCKET_ENV) or DEFAULT_TOUCHSCREEN_SOCKET


class ClientError(Exception):
    """Base of the errors this client raises."""


class ApiError(ClientError):
    """The daemon answered with an error status.

    ``message`` is meant for a person; ``kind`` names the daemon's error class (e.g.
    ``NoCompartmentFree``); ``retry_after`` is set (seconds) when the answer was 429.
    """

    def __init__(
        self,
        status: int,
        message: str,
        kind: str | None = None,
        retry_after: float | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.retry_after = retry_after
        #: machine-readable facts of the refusal (``reason``, ``compartment``, ``size``)
        self.details = details or {}

    @property
    def is_throttled(self) -> bool:
        return self.status == 429


class DaemonUnreachable(ClientError):
    """The daemon could not be reached; the message says what to check."""


class ApiClient:
    """Talks to one daemon over its Unix socket.

    ``transport`` replaces the socket transport (tests pass an ``httpx.MockTransport``).
    The client holds at most one session token; :meth:`sign_in` sets it and :meth:`sign_out`
    ends it. Use it as a context manager, or call :meth:`close`, which is idempotent.
    """

    def __init__(
        self,
        socket: str,
        token: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.socket = socket
        self.token = token
        self.timeout = timeout
        self._http = httpx.Client(
            # No TLS on a Unix socket, so no certificate store to load: loading it cost
            # about 40 ms of every client made, that is of every touchscreen request.
            transport=transport or httpx.HTTPTransport(uds=socket, verify=False),
            base_url="http://kiosk",
            timeout=timeout,
        )
        self._streams: set[sockets.socket] = set()  # the sockets of streams being read
        self._streams_ended = False

    # -- plumbing -------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def _request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        # A long-poll may legitimately take ``wait`` seconds before the first byte.
        timeout = self.timeout + float((params or {}).get("wait", 0))
        try:
            response = self._http.request(
                method, path, params=params, json=body, headers=self._headers(), timeout=timeout
            )
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
        return self._decode(response)

    def _decode(self, response: httpx.Response) -> dict[str, Any]:
        if response.is_error:
            raise error_from_response(response)
        if not response.content:
            return {}
        try:
            data = response.json()
        except ValueError as exc:
            raise ApiError(
                response.status_code, "the daemon sent an answer that is not JSON"
            ) from exc
        return data if isinstance(data, dict) else {"data": data}

    def _unreachable(self, exc: httpx.TransportError) -> DaemonUnreachable:
        return unreachable_error(self.socket, exc, self.timeout)

    # -- requests -------------------------------------------------------------------

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        """``GET path?params``; booleans are sent as ``true``/``false``, ``None`` is left out."""
        return self._request("GET", path, params=query(params))

    def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._request("POST", path, body=body)

    def delete(self, path: str) -> dict[str, Any]:
        return self._request("DELETE", path)

    # -- sessions -------------------------------------------------------------------

    def sign_in(
        self, pin: str | None, user: str | None = None, badge: str | None = None
    ) -> SessionView:
        """Sign in with a PIN (and optional user name) or a badge; keeps the token."""
        body = {k: v for k, v in {"pin": pin, "user": user, "badge": badge}.items() if v}
        answer = cast(SessionView, self.post("/v1/sessions", body))
        self.token = answer.get("token")
        return answer

    def sign_out(self) -> None:
        """End the session, if any. The token is forgotten even if the daemon is gone."""
        if self.token is None:
            return
        try:
            self.delete("/v1/sessions")
        finally:
            self.token = None

    # -- reading --------------------------------------------------------------------
    # Each answer is typed as the daemon's schema declares it (kiosk.protocol.views);
    # the client trusts its daemon and does not check the answer again.

    def status(self) -> Status:
        return cast(Status, self.get("/v1/status"))

    def kiosk_info(self) -> KioskInfo:
        return cast(KioskInfo, self.get("/v1/kiosk"))

    def compartments(self) -> Compartments:
        return cast(Compartments, self.get("/v1/compartments"))

    def parcels(self, state: str | None = None) -> Parcels:
        return cast(Parcels, self.get("/v1/parcels", state=state))

    def events(self, limit: int, newest_first: bool = False) -> Events:
        return cast(Events, self.get("/v1/events", limit=limit, newest_first=newest_first))

    def verify_events(self) -> Verification:
        return cast(Verification, self.get("/v1/events/verify"))

    def trace_view(self) -> TraceView:
        return cast(TraceView, self.get("/v1/trace"))

    # -- doors ----------------------------------------------------------------------

    def pickup(self, code: str) -> OperationView:
        return cast(OperationView, self.post("/v1/pickup", {"code": code}))

    def deposit(self, body: dict[str, Any]) -> OperationView:
        return cast(OperationView, self.post("/v1/deposits", body))

    def open_door(self, compartment: str) -> OperationView:
        return cast(OperationView, self.post(f"/v1/compartments/{compartment}/open"))

    def next_return(self) -> OperationView:
        """The next expired parcel's door, opened; 404 (:class:`ApiError`) when none is left."""
        return cast(OperationView, self.post("/v1/returns/next"))

    # -- jobs -----------------------------------------------------------------------

    def start_job(self, path: str, body: dict[str, Any] | None = None) -> JobView:
        """Start a technician's job (``/v1/compartments/open-all``, ``/v1/selftest``,
        ``/v1/bus-scan``, ``/v1/discover``); its first view."""
        return cast(JobView, self.post(path, body))

    # -- compartments and the kiosk (a technician's session) ---------------------------

    def set_service(
        self, compartment: str, change: str, reason: str | None = None
    ) -> CompartmentBrief:
        """``change``: ``out-of-service`` (with a ``reason``), ``in-service``, ``clear-check``."""
        body = {"reason": reason} if reason is not None else None
        return cast(CompartmentBrief, self.post(f"/v1/compartments/{compartment}/{change}", body))

    def reset_guard(self) -> GuardView:
        return cast(GuardView, self.post("/v1/guard/reset"))

    def confirm_clock(self) -> ClockView:
        return cast(ClockView, self.post("/v1/clock/confirm"))

    def set_trace(self, board: str, on: bool) -> TraceView:
        return cast(TraceView, self.post(f"/v1/boards/{board}/trace", {"on": on}))

    # -- parcels --------------------------------------------------------------------

    def announce(self, body: dict[str, Any]) -> ParcelView:
        return cast(ParcelView, self.post("/v1/announcements", body))

    def extend_hold(self, barcode: str, hours: float) -> ParcelView:
        """Move the end of the parcel's hold ``hours`` later (a technician's session);
        returns the parcel as ``GET /v1/parcels`` shows it, with the new ``expires_at``."""
        path = f"/v1/parcels/{quote(barcode, safe='')}/extend"
        return cast(ParcelView, self.post(path, {"hours": hours}))

    # -- waiting --------------------------------------------------------------------

    def watch_operation(self, op_id: int | str, poll: float = 30) -> Iterator[OperationView]:
        """Yield the operation's view after every long-poll, ending with the first not live.

        Each poll returns once the operation is no longer live or ``poll`` seconds passed, so
        a live view means "nothing final yet" (e.g. the door is still open).
        """
        wait = min(max(poll, 0.0), MAX_WAIT_S)
        while True:
            view = cast(OperationView, self.get(f"/v1/operations/{op_id}", wait=wait))
            yield view
            if not view.get("live"):
                return

    def wait_operation(
        self, op_id: int | str, until_done: bool = True, poll: float = 30
    ) -> OperationView:
        """The operation's view once it is no longer live (``until_done``), else after one poll."""
        views = self.watch_operation(op_id, poll)
        if not until_done:
            return next(views)
        *_, last = views  # runs the polls to the end; the last view is the answer
        return last

    def watch_job(self, job_id: int | str, poll: float = 30) -> Iterator[JobView]:
        """Yield the job's view after every long-poll, ending with the first whose state is done.

        The daemon answers early whenever a result is added, so a caller sees progress.
        """
        wait = min(max(poll, 0.0), MAX_WAIT_S)
        while True:
            view = cast(JobView, self.get(f"/v1/jobs/{job_id}", wait=wait))
            yield view
            if view.get("state") == "done":
                return

    # -- the event stream -----------------------------------------------------------

    def stream(self, path: str = "/v1/stream") -> Iterator[dict[str, Any]]:
        """Yield each message of the server-sent-event stream as a dict.

        Keep-alive comments are skipped. The iterator ends when the daemon closes the stream
        (including a restart that cuts it); it never ends on its own otherwise.
        """
        # No read time-out: keep-alives come every few seconds, but a quiet stream is not dead.
        timeout = httpx.Timeout(self.timeout, read=None)
        try:
            with self._http.stream("GET", path, headers=self._headers(), timeout=timeout) as resp:
                if resp.is_error:
                    resp.read()
                    raise error_from_response(resp)
                sock = _socket_of(resp)
                self._streams |= {sock} if sock else set()
                if self._streams_ended:  # ended while it was opening
                    self.end_streams()
                try:
                    yield from parse_sse(resp.iter_lines())
                finally:
                    self._streams -= {sock} if sock else set()
        except httpx.RemoteProtocolError:
            return  # the daemon went away mid-stream: that is a close, not an error
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc

    def end_streams(self) -> None:
        """End the streams being read and any this client opens later, from any thread:
        each reader's iterator ends at once, and the connection is given back to the
        daemon (a stopped touchscreen keeps no place on its socket)."""
        self._streams_ended = True
        for sock in list(self._streams):
            with contextlib.suppress(OSError):
                sock.shutdown(sockets.SHUT_RDWR)  # wakes a read blocked on it; close() would not


# -- helpers (pure, and reused by tests) ----------------------------------------------


def query(params: dict[str, Any]) -> dict[str, str]:
    """Query parameters as the daemon expects them: lower-case booleans, ``None`` left out."""
    out = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


def parse_sse(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """Decode server-sent events: ``data:`` lines up to a blank line make one JSON message.

    Comment lines (starting with ``:``) and other fields (``event:``, ``id:``) are ignored, as
    is a message whose data is not a JSON object.
    """
    data: list[str] = []
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            message = _sse_message(data)
            data = []
            if message is not None:
                yield message
        elif line.startswith(":"):
            continue
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    message = _sse_message(data)
    if message is not None:
        yield message


def _sse_message(data: list[str]) -> dict[str, Any] | None:
    if not data:
        return None
    try:
        message = json.loads("\n".join(data))
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def _socket_of(response: httpx.Response) -> sockets.socket | None:
    """The socket under a streamed response (httpcore's ``network_stream``), if any."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    return sock if isinstance(sock, sockets.socket) else None


def error_from_response(response: httpx.Response) -> ApiError:
    """An :class:`ApiError` from an error answer, with a message a person can read."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    message, kind, retry_after = _error_fields(body)
    if message is None:
        message = f"the daemon answered {status} {response.reason_phrase}".rstrip()
    if retry_after is None and status == 429:
        retry_after = _float(response.headers.get("Retry-After"))
    details = body.get("details") if isinstance(body, dict) else None
    return ApiError(
        status, message, kind, retry_after, details if isinstance(details, dict) else None
    )


def _error_fields(body: Any) -> tuple[str | None, str | None, float | None]:
    if not isinstance(body, dict):
        return None, None, None
    if "error" in body:
        kind = body.get("kind")
        return str(body["error"]), str(kind) if kind else None, _float(body.get("retry_after"))
    if "detail" in body:
        return validation_message(body["detail"]), "ValidationError", None
    return None, None, None


def validation_message(detail: Any) -> str:
    """FastAPI's ``{"detail": [...]}`` as one line: ``size: Field required; phone: ...``."""
    if isinstance(detail, str):
        return detail
    if not isinstance(detail, list):
        return "the request was not valid"
    parts = []
    for item in detail:
        if not isinstance(item, dict):
            parts.append(str(item))
            continue
        loc = [str(p) for p in item.get("loc", []) if p not in ("body", "query", "path")]
        msg = str(item.get("msg", "not valid"))
        parts.append(f"{'.'.join(loc)}: {msg}" if loc else msg)
    return "; ".join(parts) or "the request was not valid"


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _errno_in(exc: BaseException, number: int) -> bool:
    """Whether an OSError with ``number`` is among the causes of ``exc``."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno == number:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def unreachable_error(socket: str, exc: httpx.TransportError, timeout: float) -> DaemonUnreachable:
    """Turn a transport failure into a message that says what to check."""
    if isinstance(exc, httpx.TimeoutException):
        return DaemonUnreachable(
            f"The daemon did not answer in time (socket {socket}). "
            "Is it running and not stuck? Try: systemctl status locker-kiosk"
        )
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, PermissionError) or "Permission denied" in str(exc):
        return DaemonUnreachable(
            f"No permission to use the socket {socket}. "
            "Is your user in the kiosk group (or run with sudo)?"
        )
    if not os.path.exists(socket):
        return DaemonUnreachable(
            f"Is the daemon running? No socket at {socket} "
            f"(use --socket or ${SOCKET_ENV} if it lives elsewhere)."
        )
    if _errno_in(exc, errno.EAGAIN):
        return DaemonUnreachable(
            f"The daemon's socket {socket} has no room for another connection: too many "
            "are waiting for it (someone may be flooding it; the touchscreen has a socket "
            "of its own). Try again in a few seconds."
        )
    return DaemonUnreachable(
        f"Is the daemon running? Nothing answers at {socket} ({exc.__class__.__name__})."
    )
