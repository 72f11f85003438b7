"""What must hold after any crash of the daemon, checked on its data dir and its API.

Used by ``tests/faults/test_crash_safety.py`` and ``tools/crashloop.py``. Every check
returns a list of violations, one sentence each (empty: all is well), so a long run can
count them instead of stopping at the first.

The store is read straight from the SQLite file (read-only, beside the running daemon:
WAL allows it), because the file is the truth the next start begins from.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LIVE_PARCEL = ("STORED", "EXPIRED")
GONE_PARCEL = {"PICKED_UP": "pickup", "RETURNED": "return"}
LIVE_OP = ("UNLOCK_SENT", "OPENED", "LEFT_OPEN")
HOLDS_PARCEL = ("OCCUPIED", "OUT_OF_SERVICE")


@dataclass(frozen=True)
class StoreView:
    """The rows the invariants are about, as plain dicts."""

    parcels: list[dict[str, Any]]
    compartments: dict[str, dict[str, Any]]
    ops: list[dict[str, Any]]

    def parcel_by_barcode(self) -> dict[str, dict[str, Any]]:
        return {p["barcode"]: p for p in self.parcels}


def read_store(db_path: Path) -> StoreView:
    """The parcels, compartments and door operations in the database at ``db_path``."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        parcels = [dict(r) for r in conn.execute("SELECT * FROM parcels ORDER BY id")]
        comps = {r["id"]: dict(r) for r in conn.execute("SELECT * FROM compartments")}
        ops = [dict(r) for r in conn.execute("SELECT * FROM door_ops ORDER BY id")]
    finally:
        conn.close()
    return StoreView(parcels, comps, ops)


@dataclass
class Ledger:
    """What the API told the client before a kill, to hold the store to afterwards.

    ``kept``: deposits the API reported stored (door closed); ``picked``: pickups the API
    reported finished; ``requested``: every barcode a deposit was asked for;
    ``seen_stored``: parcels found STORED by an earlier check (a later one must not lose
    them).
    """

    kept: set[str] = field(default_factory=set)
    picked: set[str] = field(default_factory=set)
    requested: set[str] = field(default_factory=set)
    seen_stored: set[str] = field(default_factory=set)


def check_parcels_in_place(view: StoreView) -> list[str]:
    """Every parcel in exactly one place; never two in a compartment; no phantom states."""
    out: list[str] = []
    live_in: dict[str, list[str]] = {}
    live_ops = [op for op in view.ops if op["status"] in LIVE_OP]
    closed_removals = {
        (op["parcel_id"], op["purpose"]) for op in view.ops if op["status"] == "CLOSED"
    }
    for p in view.parcels:
        name = f"parcel {p['barcode']} ({p['state']})"
        if p["state"] in LIVE_PARCEL:
            cid = p["compartment_id"]
            comp = view.compartments.get(cid) if cid else None
            if comp is None:
                out.append(f"{name} has no compartment")
                continue
            live_in.setdefault(cid, []).append(p["barcode"])
            if comp["state"] not in HOLDS_PARCEL:
                out.append(f"{name} is in {cid}, which is {comp['state']}")
        elif p["state"] in GONE_PARCEL:
            purpose = GONE_PARCEL[p["state"]]
            if (p["id"], purpose) not in closed_removals:
                out.append(f"{name} left without a {purpose} whose door closed")
    for cid, barcodes in sorted(live_in.items()):
        if len(barcodes) > 1:
            out.append(f"compartment {cid} holds {len(barcodes)} parcels: {sorted(barcodes)}")
    for cid, comp in sorted(view.compartments.items()):
        if comp["state"] == "OCCUPIED" and cid not in live_in:
            out.append(f"compartment {cid} is OCCUPIED but holds no live parcel")
        deposit_live = any(
            op["compartment_id"] == cid and op["purpose"] == "deposit" for op in live_ops
        )
        if comp["state"] == "RESERVED" and not deposit_live and not unconfirmed(view, cid):
            out.append(f"compartment {cid} is RESERVED without a live deposit operation"
                       " or one that waits for its courier's answer")  # fmt: skip
    live_per_comp = Counter(op["compartment_id"] for op in live_ops)
    out += [
        f"compartment {cid} has {n} live operations" for cid, n in live_per_comp.items() if n > 1
    ]
    return out


def unconfirmed(view: StoreView, cid: str) -> bool:
    """The last operation on ``cid`` is a deposit whose door closed on an empty
    compartment, not answered yet (or left unanswered): it keeps the compartment."""
    ops = [op for op in view.ops if op["compartment_id"] == cid]
    if not ops or ops[-1]["purpose"] != "deposit" or ops[-1]["status"] != "CLOSED":
        return False
    return json.loads(ops[-1]["details"] or "{}").get("confirm") in ("asked", "unanswered")


def check_ledger(view: StoreView, ledger: Ledger) -> list[str]:
    """Deposits the API called stored are kept; finished pickups are done; nothing appears
    that was never asked for; nothing found stored before is lost."""
    out: list[str] = []
    by_barcode = view.parcel_by_barcode()
    for barcode in sorted(ledger.kept | ledger.seen_stored):
        p = by_barcode.get(barcode)
        # Where a stored parcel may go; how it got there is check_parcels_in_place's.
        if p is None or p["state"] not in ("STORED", "PICKED_UP", "EXPIRED", "RETURNED"):
            state = p["state"] if p else "missing"
            out.append(f"deposit {barcode} whose door closed is {state}")
    for barcode in sorted(ledger.picked):
        p = by_barcode.get(barcode)
        if p is None or p["state"] != "PICKED_UP":
            state = p["state"] if p else "missing"
            out.append(f"pickup of {barcode} whose door closed left the parcel {state}")
    for barcode in sorted(set(by_barcode) - ledger.requested):
        out.append(f"parcel {barcode} was never deposited")
    return out


def check_settled(view: StoreView) -> list[str]:
    """With every door closed, no operation is left unfinished."""
    return [
        f"operation {op['id']} ({op['purpose']} {op['compartment_id']}) still {op['status']}"
        for op in view.ops
        if op["status"] in LIVE_OP
    ]


def read_fire_log(path: Path) -> list[str]:
    """The fire log's lines (``"<wall time> <board> <lock> <compartment>"``)."""
    if not path.exists():
        return []
    return [line for line in path.read_text().splitlines() if line.strip()]


def read_door_log(path: Path) -> list[tuple[float, str, str, bool]]:
    """The simulator's door history (``hw_sim.model.DOOR_LOG``): ``(wall time,
    compartment, "opened" or "closed", item inside)`` per line, oldest first."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 4:  # a line cut by a kill is left out
            out.append((float(parts[0]), parts[1], parts[2], parts[3] == "item=1"))
    return out


def deposits_closed_in_sim(
    at_kill: StoreView, doors: list[tuple[float, str, str, bool]]
) -> tuple[set[str], dict[str, str]]:
    """Deposits live at the kill whose door the simulator saw close with the parcel in.

    Returns ``(kept, to_check)``: barcodes whose door the journal had seen open (the
    kiosk must keep them, whatever the API answered before the kill), and, by
    compartment, barcodes whose opening the journal never recorded (the kiosk cannot
    tell the parcel went in: it must keep it or hold the compartment for a check).
    """
    kept: set[str] = set()
    to_check: dict[str, str] = {}
    for op in at_kill.ops:
        if op["purpose"] != "deposit" or op["status"] not in LIVE_OP:
            continue
        details = json.loads(op["details"])
        if "unused" in details:  # doesn't fit or cancelled: freed, nothing to keep
            continue
        cid, begun = op["compartment_id"], float(op["created_at"])
        if not any(c == cid and what == "closed" and item and t > begun
                   for t, c, what, item in doors):  # fmt: skip
            continue
        if op["status"] == "UNLOCK_SENT":
            to_check[cid] = details["barcode"]
        else:
            kept.add(details["barcode"])
    return kept, to_check


def check_closed_deposits(view: StoreView, to_check: Mapping[str, str], code: str) -> list[str]:
    """Each of ``to_check`` (see :func:`deposits_closed_in_sim`) is kept, or its
    compartment is out of service for a check, with the reason ``code`` stored."""
    by_barcode = view.parcel_by_barcode()
    out = []
    for cid, barcode in sorted(to_check.items()):
        kept = barcode in by_barcode and by_barcode[barcode]["state"] != "CANCELLED"
        held = view.compartments[cid]["oos_code"] == code
        if not (kept or held):
            out.append(f"deposit {barcode} closed in {cid} in the simulator, neither kept nor "
                       "held for a check")  # fmt: skip
    return out


def check_no_fire_by_itself(before: list[str], after: list[str]) -> list[str]:
    """No lock fired between ``before`` (read after the kill) and ``after`` (read after
    the restart settled with no request sent)."""
    if after[: len(before)] != before:
        return ["the fire log was rewritten across the restart"]
    return [f"lock fired by itself after restart: {line}" for line in after[len(before) :]]


def check_fires_had_intents(fires: Iterable[str], view: StoreView) -> list[str]:
    """Each compartment fired at most as often as the journal committed an intent to."""
    fired = Counter(line.split()[3] for line in fires)
    intended = Counter[str]()
    for op in view.ops:
        intended[op["compartment_id"]] += int(op["fires"])
    return [
        f"compartment {cid} fired {n} times, but only {intended[cid]} fires were journalled"
        for cid, n in sorted(fired.items())
        if n > intended[cid]
    ]


def check_outputs_off(sim_snapshot: Mapping[str, Mapping[str, Any]]) -> list[str]:
    return [f"lock of {cid} is energised" for cid, c in sim_snapshot.items() if c["energised"]]


def check_event_chain(verify: Mapping[str, Any]) -> list[str]:
    if verify.get("ok"):
        return []
    return [f"event chain broken at seq {verify.get('first_bad_seq')}: {verify.get('reason')}"]


def check_all(
    view: StoreView,
    ledger: Ledger,
    fires_before: list[str],
    fires_after: list[str],
    sim_snapshot: Mapping[str, Mapping[str, Any]],
    verify: Mapping[str, Any],
) -> list[str]:
    """Every invariant at once; updates ``ledger.seen_stored`` when all hold."""
    out = (
        check_settled(view)
        + check_parcels_in_place(view)
        + check_ledger(view, ledger)
        + check_no_fire_by_itself(fires_before, fires_after)
        + check_fires_had_intents(fires_after, view)
        + check_outputs_off(sim_snapshot)
        + check_event_chain(verify)
    )
    if not out:
        ledger.seen_stored |= {p["barcode"] for p in view.parcels if p["state"] in LIVE_PARCEL}
    return out
