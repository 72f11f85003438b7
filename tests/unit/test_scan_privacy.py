"""A scan from the kiosk's scanner may be a pickup code: it reaches the subscriptions that
asked for scans (the touchscreen's) and no other, and the touchscreen's stream refuses a
request that did not come on the touchscreen's socket: one over TCP even if the gate's
list of local-only routes were to miss it."""

from __future__ import annotations

import asyncio
import re
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from kiosk.api import TOUCHSCREEN_ONLY, create_app
from kiosk.api.listeners import tcp_gate
from kiosk.api.listeners.tcp_gate import TcpGate
from kiosk.broadcast import Bus

TOKEN = "t" * 40


def test_a_scan_reaches_only_the_subscriptions_that_asked_for_scans() -> None:
    async def journey() -> tuple[list[Any], list[Any]]:
        bus = Bus()
        async with bus.subscribe() as reader, bus.subscribe(scans=True) as touchscreen:
            bus.publish_scan("73019482")
            bus.publish({"type": "door", "compartment": "A01", "door": "OPEN"})
            return drain(reader), drain(touchscreen)

    reader, touchscreen = asyncio.run(journey())
    assert reader == [{"type": "door", "compartment": "A01", "door": "OPEN"}]
    assert touchscreen == [{"type": "scan", "text": "73019482"},
                           {"type": "door", "compartment": "A01", "door": "OPEN"}]  # fmt: skip


def drain(queue: asyncio.Queue[Any]) -> list[Any]:
    return [queue.get_nowait() for _ in range(queue.qsize())]


def test_the_touchscreen_stream_refuses_tcp_even_past_a_gate_that_let_it_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tcp_gate, "LOCAL_ONLY", re.compile(r"(?!)"))  # a gate that forgot it
    config = SimpleNamespace(board_specs=lambda: [], compartments=[])
    app = create_app(SimpleNamespace(config=config, bus=Bus()), None, None)  # type: ignore[arg-type]
    gate = TcpGate(app, TOKEN, rate_per_minute=600)

    async def ask() -> httpx.Response:
        transport = httpx.ASGITransport(app=gate)
        async with (
            asyncio.timeout(10),  # a stream let through would never end
            httpx.AsyncClient(transport=transport, base_url="https://kiosk") as client,
        ):
            return await client.get("/v1/touchscreen/stream", headers={"X-Kiosk-Token": TOKEN})

    answer = asyncio.run(ask())
    assert answer.status_code == 403
    assert answer.json()["error"] == TOUCHSCREEN_ONLY
