"""A scripted daemon for the ``lockerctl`` tests (``httpx.MockTransport``), and the
answers they share: an operation's view and a ``GET /v1/status``.

The ``scripted_daemon`` fixture (``tests/unit/conftest.py``) puts one behind ``lockerctl``;
the real daemon, a process of its own, is ``testkit.daemon.Daemon`` (the ``daemon`` fixture
of the integration, UI and fault tests).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

Answer = tuple[int, Any] | httpx.Response


class ScriptedDaemon:
    """Answers each ``(METHOD, path)`` from a script; the last answer of a script repeats."""

    def __init__(self) -> None:
        self.scripts: dict[tuple[str, str], list[Answer]] = {}
        self.requests: list[httpx.Request] = []
        self.sockets: list[str] = []

    def on(self, method: str, path: str, *answers: Answer) -> None:
        self.scripts[(method, path)] = list(answers)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        script = self.scripts.get((request.method, request.url.path))
        if not script:
            return httpx.Response(404, json={"error": "Not Found", "kind": "NotFound"})
        answer = script.pop(0) if len(script) > 1 else script[0]
        if isinstance(answer, httpx.Response):
            return answer
        status, body = answer
        return httpx.Response(status, json=body)

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]

    def body(self, request: httpx.Request) -> Any:
        return json.loads(request.content)


def op(status: str, live: bool, message: str, cid: str = "A07", op_id: int = 5) -> dict[str, Any]:
    return {
        "operation": op_id,
        "compartment": cid,
        "purpose": "deposit",
        "status": status,
        "door": "OPEN" if status in ("OPENED", "LEFT_OPEN") else "CLOSED",
        "live": live,
        "message": message,
    }


STATUS = {
    "kiosk": {
        "id": "DEMO-01",
        "name": "Main street",
        "version": "0.1.0",
        "demo": True,
        "operator_contact": "+49 30 1234567",
    },
    "uptime_s": 3725.0,
    "boards": [
        {"name": "top", "driver": "kerong", "online": True, "error": None, "last_seen": None},
        {
            "name": "low",
            "driver": "kerong",
            "online": False,
            "error": "no answer",
            "last_seen": None,
        },
    ],
    "compartments": {
        "total": 16,
        "by_state": {"AVAILABLE": 12, "OCCUPIED": 4},
        "free_by_size": {"S": 3, "M": 5, "L": 0, "XL": 4},
        "doors_open": 1,
    },
    "parcels": {"STORED": 4, "PICKED_UP": 10},
    "operations": [op("OPENED", True, "Door A07 is open")],
    "outbox_depth": 2,
    "keypad": {"retry_after": 0},
    "alarms": [],
}


class InterruptedStream(httpx.SyncByteStream):
    """A stream that delivers some bytes, then the person presses Ctrl-C."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        raise KeyboardInterrupt
