"""Journey: an operator reads the daemon's journal, one line per event, in order.

The lines are written just after the use case that logged them (so the lock of a
pickup is queued first), never dropped: those still pending when the daemon stops are
written by the final flush.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from kiosk.daemon import EventLines
from kiosk.store import Event


def event(seq: int, kind: str) -> Event:
    return Event(seq, 0.0, kind, "info", None, "A01", {"operation": seq})


def test_lines_come_after_the_use_case_in_order(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="kiosk.event")

    async def journey() -> tuple[list[str], list[str]]:
        lines = EventLines(asyncio.get_running_loop())
        lines(event(1, "unlock"))
        lines(event(2, "door_opened"))
        during = [r.getMessage() for r in caplog.records]
        await asyncio.sleep(EventLines.DELAY_S * 5)
        return during, [r.getMessage() for r in caplog.records]

    during, after = asyncio.run(journey())
    assert during == []
    assert after == [
        "unlock compartment=A01 operation=1",
        "door_opened compartment=A01 operation=2",
    ]


def test_the_last_lines_are_written_at_stop(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="kiosk.event")

    async def journey() -> EventLines:
        lines = EventLines(asyncio.get_running_loop())
        lines(event(7, "kiosk_stopped"))
        return lines

    lines = asyncio.run(journey())  # the loop ends before the line was due
    lines.flush()
    lines.flush()  # a second flush writes nothing twice
    assert [r.getMessage() for r in caplog.records] == ["kiosk_stopped compartment=A01 operation=7"]
