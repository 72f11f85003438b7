"""What a kiosk tells its network: the messages of docs/fleet.md, built from the kiosk.

Pure functions of the kiosk's state; :mod:`kiosk.fleet.link` sends them. None of them
carries a pickup code or a PIN (the event log never holds one either).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from kiosk import __version__
from kiosk.domain import CompartmentState
from kiosk.fleet.payloads import (
    BoardHealth,
    CompartmentsState,
    EventReport,
    Health,
    Outcome,
    Presence,
    Result,
    SelftestReport,
    WallCompartment,
)
from kiosk.store import Event
from kiosk.store.fleet import ANNOUNCEMENTS_CURSOR

if TYPE_CHECKING:
    from kiosk.core import Kiosk

PREFIX = "lk/v1/kiosk"
ALARM_WINDOW_S = 24 * 3600.0


def topic(kiosk_id: str, leaf: str) -> str:
    return f"{PREFIX}/{kiosk_id}/{leaf}"


def presence(kiosk: Kiosk, online: bool) -> Presence:
    body = Presence(kiosk=kiosk.config.kiosk.id, status="online" if online else "offline")
    if online:
        body["since"] = time.time()
        body["version"] = __version__
        body["announcements_cursor"] = kiosk.store.meta_int(ANNOUNCEMENTS_CURSOR)
        body["staff_version"] = kiosk.store.staff_version()
    return body


def last_will(kiosk_id: str) -> Presence:
    return {"kiosk": kiosk_id, "status": "offline"}


def compartments_state(kiosk: Kiosk) -> CompartmentsState:
    """The retained summary; compared without ``ts`` to decide whether it changed.
    ``alarms`` counts the last day's by the kiosk's time, which stamped them: by a wall
    clock set days ahead, the alarm it raised would be days old already."""
    comps = kiosk.compartments_view()
    total: dict[str, int] = {name: 0 for name in kiosk.config.size_names()}
    for c in comps:
        total[c["size"]] = total.get(c["size"], 0) + 1
    since = kiosk.clock() - ALARM_WINDOW_S
    alarms = sum(
        1
        for e in kiosk.store.events(limit=500, newest_first=True)
        if e.severity == "alarm" and e.ts > since
    )
    return {
        "kiosk": kiosk.config.kiosk.id,
        "free": kiosk.free_by_size(),
        "total": total,
        "out_of_service": [c["id"] for c in comps if c["state"] == CompartmentState.OUT_OF_SERVICE],
        "held": [c["id"] for c in comps if c.get("held_for") is not None],
        "doors_open": [c["id"] for c in comps if c["door"] == "OPEN"],
        "doors_unknown": [c["id"] for c in comps if c["door"] == "UNKNOWN"],
        "boards": {b["name"]: bool(b["online"]) for b in kiosk.hw.board_status()},
        "guard": "tripped" if kiosk.guard.is_tripped else "ok",
        "alarms": alarms,
        "compartments": [_compartment(c) for c in comps],
    }


def _compartment(c: dict[str, Any]) -> WallCompartment:
    """One compartment as the network sees it: enough for a wall of doors (no parcel, no
    code, no recipient)."""
    return {
        "id": c["id"],
        "size": c["size"],
        "state": c["state"],
        "door": c["door"],
        "accessible": bool(c["accessible"]),
        "held": c.get("held_for") is not None,
        "board_online": bool(c["board_online"]),
    }


def health(kiosk: Kiosk, acked_seq: int) -> Health:
    """``acked_seq``: every event up to it reached the broker, so a consumer that lacks
    one of them lost it (even the last ones, which no later event would show missing)."""
    return {
        "kiosk": kiosk.config.kiosk.id,
        "ts": time.time(),
        "uptime_s": round(kiosk.uptime_s(), 1),
        "outbox_depth": max(0, kiosk.store.last_event_seq() - acked_seq),
        "acked_seq": acked_seq,
        "notify_depth": kiosk.store.outbox_depth(),
        "boards": {
            b["name"]: BoardHealth(
                online=bool(b["online"]),
                errors=int(b["stats"].get("errors", 0)),
                last_seen=b["last_seen"],
            )
            for b in kiosk.hw.board_status()
        },
    }


def event_message(kiosk_id: str, event: Event) -> EventReport:
    return {
        "kiosk": kiosk_id,
        "seq": event.seq,
        "key": f"{kiosk_id}:{event.seq}",
        "ts": event.ts,
        "kind": event.kind,
        "severity": event.severity,
        "actor": event.actor,
        "compartment": event.compartment,
        "detail": event.detail,
    }


def selftest(kiosk: Kiosk) -> SelftestReport:
    """A remote self-test: every board and door sensor read, **no door opened**."""
    boards = {b["name"]: bool(b["online"]) for b in kiosk.hw.board_status()}
    doors = {c["id"]: c["door"] for c in kiosk.compartments_view()}
    live = {lv.compartment for lv in kiosk.live_ops()}
    problems = [f"board {name} is offline" for name, online in boards.items() if not online]
    problems += [f"door {cid}: sensor not readable" for cid, d in doors.items() if d == "UNKNOWN"]
    problems += [
        f"door {cid} is open with no operation"
        for cid, d in doors.items()
        if d == "OPEN" and cid not in live
    ]
    return {"passed": not problems, "boards": boards, "doors": doors, "problems": problems}


def result(
    kiosk_id: str,
    cid: str | None,
    command: str | None,
    ok: bool,
    reason: str | None,
    message: str,
    details: Outcome,
    replayed: bool = False,
) -> Result:
    """The answer on ``results`` to one message, by the id it carried (docs/fleet.md)."""
    return {
        "kiosk": kiosk_id,
        "id": cid,
        "command": command,
        "ok": ok,
        "reason": reason,
        "message": message,
        "result": details,
        "replayed": replayed,
        "ts": time.time(),
    }
