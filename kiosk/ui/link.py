"""The UI's line to the daemon, off the drawing thread, on the touchscreen's own socket.

That socket belongs to the touchscreen's group and has a small cap of its own, so no
other client can use up the screen's way in; the stream with the scanner's scans is
served there only.

Calls are queued to a worker thread; their results, the daemon's event stream and the
link's health come back as messages through ``post`` (the app turns them into pygame
events, which wake its loop). The drawing loop never waits on the API. When the daemon
goes away the stream thread retries with a growing delay and says so; nothing here
raises into the UI.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kiosk.protocol.client import ApiClient, ApiError, DaemonUnreachable

log = logging.getLogger(__name__)

Message = dict[str, Any]
#: the event stream with the scanner's scans, served only on the touchscreen's socket
STREAM = "/v1/touchscreen/stream"
TIMEOUT_S = 10.0
"""How long a call waits for its answer, unless it is given a time-out of its own (one
that opens a door waits as long as the daemon's timings say that can take)."""


@dataclass(frozen=True)
class Call:
    id: int
    method: str
    path: str
    body: dict[str, Any] | None
    token: str | None
    params: dict[str, Any] | None
    timeout: float = TIMEOUT_S


class DaemonLink:
    def __init__(self, socket: str, post: Callable[[Message], None]) -> None:
        self.socket = socket
        self.post = post
        self._calls: queue.Queue[Call | None] = queue.Queue()
        self._ids = itertools.count(1)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._stream_client: ApiClient | None = None
        self.online = False

    def start(self) -> None:
        for target, name in ((self._work, "ui-api"), (self._listen, "ui-stream")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop both threads; the stream's connection ends now, not at the next message."""
        self._stop.set()
        self._calls.put(None)
        client = self._stream_client
        if client is not None:
            client.end_streams()

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        token: str | None = None,
        params: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> int:
        """Queue a request; its result arrives later as a ``result`` message."""
        call = Call(next(self._ids), method, path, body, token, params, timeout or TIMEOUT_S)
        self._calls.put(call)
        return call.id

    # -- worker ---------------------------------------------------------------------

    def _work(self) -> None:
        while not self._stop.is_set():
            call = self._calls.get()
            if call is None:
                return
            self.post(self._perform(call))

    def _perform(self, call: Call) -> Message:
        result: Message = {"kind": "result", "id": call.id, "path": call.path}
        try:
            with ApiClient(self.socket, token=call.token, timeout=call.timeout) as client:
                if call.method == "GET":
                    data = client.get(call.path, **(call.params or {}))
                elif call.method == "DELETE":
                    data = client.delete(call.path)
                else:
                    data = client.post(call.path, call.body)
            result.update(ok=True, data=data)
        except ApiError as exc:
            result.update(
                ok=False,
                status=exc.status,
                error=exc.message,
                error_kind=exc.kind,
                retry_after=exc.retry_after,
                details=exc.details,
            )
        except DaemonUnreachable as exc:
            result.update(ok=False, status=0, error=str(exc), error_kind="DaemonUnreachable")
        except Exception as exc:  # the UI must outlive any surprise from the link
            log.exception("API call failed")
            result.update(ok=False, status=0, error=str(exc), error_kind=type(exc).__name__)
        return result

    # -- event stream ---------------------------------------------------------------

    def _listen(self) -> None:
        delay = 0.2
        while not self._stop.is_set():
            try:
                with ApiClient(self.socket, timeout=10) as client:
                    self._stream_client = client
                    if self._stop.is_set():
                        return
                    info = client.get("/v1/kiosk")
                    self.post({"kind": "kiosk", "data": info})
                    self._set_online(True)
                    delay = 0.2
                    for message in client.stream(STREAM):
                        self.post({"kind": "stream", "data": message})
                        if self._stop.is_set():
                            return
            except (DaemonUnreachable, ApiError, OSError):
                pass
            except Exception:
                log.exception("event stream failed")
            self._set_online(False)
            self._stop.wait(delay)
            delay = min(delay * 2, 3.0)

    def _set_online(self, online: bool) -> None:
        if online != self.online:
            self.online = online
            self.post({"kind": "link", "online": online, "at": time.monotonic()})
