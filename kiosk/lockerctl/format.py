"""How ``lockerctl`` shows the daemon's answers to a person: short, aligned tables.

Pure functions from the API's JSON to text; nothing here talks to the daemon.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kiosk.protocol.scan import display_barcode
from kiosk.protocol.states import OpStatus
from kiosk.protocol.views import (
    BoardView,
    CheckView,
    ClockView,
    CompartmentView,
    EventView,
    JobView,
    KeypadView,
    OperationView,
    ParcelView,
    Status,
    StorageView,
)

NONE = "-"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Columns aligned on the widest cell, two spaces apart; empty cells shown as ``-``."""
    cells = [[cell_text(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = [headers, *cells]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def cell_text(value: Any) -> str:
    if value is None or value == "":
        return NONE
    if isinstance(value, bool):
        return "yes" if value else "no"
    return visible(str(value))


def visible(text: str) -> str:
    """``text`` safe for a terminal: a GS1 barcode's group separator as ``<GS>``, any
    other control character as ``\\xNN``, so no scanned byte reaches the terminal raw."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", display_barcode(text))


def local_time(ts: float | None) -> str:
    """UNIX seconds as local time, ``2024-05-01 14:03:27``; ``-`` for none."""
    if ts is None:
        return NONE
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def duration(seconds: float) -> str:
    """``3d 4h``, ``2h 5m``, ``4m 12s`` or ``9s``: the two largest units."""
    s = int(seconds)
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {s}s"
    return f"{s}s"


def counts(mapping: dict[str, Any] | None) -> str:
    """``STORED 3, PICKED_UP 10``; ``none`` when empty."""
    if not mapping:
        return "none"
    return ", ".join(f"{k} {v}" for k, v in mapping.items())


def detail_text(detail: dict[str, Any] | None) -> str:
    """An event's detail as ``k=v`` pairs, in the daemon's order."""
    if not detail:
        return ""
    return " ".join(f"{k}={_short(v)}" for k, v in detail.items())


def _short(value: Any) -> str:
    text = visible(str(value))
    return f'"{text}"' if " " in text else text


# -- the commands' views ----------------------------------------------------------------


def status_text(status: Status) -> str:
    kiosk = status.get("kiosk", {})
    comps = status.get("compartments", {})
    demo = " (demo)" if kiosk.get("demo") else ""
    name = f" {kiosk['name']}" if kiosk.get("name") else ""
    lines = [
        f"Kiosk {kiosk.get('id', '?')}{name}, version {kiosk.get('version', '?')}{demo}, "
        f"up {duration(status.get('uptime_s', 0))}",
    ]
    if kiosk.get("operator_contact"):
        lines.append(f"Operator:      {kiosk['operator_contact']}")
    lines += [
        f"Compartments:  {comps.get('total', 0)} total; {counts(comps.get('by_state'))}",
        f"Free by size:  {counts(comps.get('free_by_size'))}",
        f"Doors open:    {comps.get('doors_open', 0)}",
        f"Parcels:       {counts(status.get('parcels'))}",
        f"Outbox:        {status.get('outbox_depth', 0)} waiting",
    ]
    lines.append(f"Keypad:        {keypad_line(status.get('keypad') or {})}")
    lines.append(f"Sign-in:       {keypad_line(status.get('sign_in') or {})}")
    guard = status.get("mass_open_guard") or {}
    if guard.get("tripped"):
        lines.append("Door opens:    STOPPED by the mass-open guard "
                     "(a technician resets it: lockerctl guard-reset)")  # fmt: skip
    elif guard:
        window = duration(guard.get("window_s", 0))
        lines.append(f"Door opens:    {guard.get('opens_in_window', 0)} in the last {window} "
                     f"(the guard stops them past {guard.get('max_opens')})")  # fmt: skip
    lines.append(f"Fleet link:    {fleet_line(status.get('fleet') or {})}")
    if clock := status.get("clock"):
        lines.append(f"Clock:         {clock_line(clock)}")
    if storage := status.get("storage"):
        lines.append(f"Storage:       {storage_line(storage)}")
    if comps.get("needs_check"):
        lines.append(f"Needs a check: {', '.join(comps['needs_check'])} (not handed out; "
                     "see lockerctl compartments, then lockerctl clear-check ID)")  # fmt: skip
    lines += ["", "Boards:", _indent(boards_table(status.get("boards", [])))]
    ops = status.get("operations") or []
    if ops:
        lines += ["", "Doors in use:", _indent(operations_table(ops))]
    alarms = status.get("alarms") or []
    if alarms:
        lines += ["", "Recent alarms:", _indent(events_table(alarms))]
    return "\n".join(lines)


def clock_line(clock: ClockView) -> str:
    state = clock.get("state")
    if state == "waiting_for_sync":
        how = {"timesyncd": "systemd-timesyncd", "command": "the sync command"}
        who = how.get(str(clock.get("trust")), "it")
        return (f"NOT SYNCHRONISED: no parcel expires until {who} says the time is right "
                "(or lockerctl clock-confirm)")  # fmt: skip
    if state == "jumped":
        step = clock.get("jump_s") or 0
        return (f"JUMPED {'+' if step >= 0 else '-'}{duration(abs(step))} against the time "
                f"that passed, at {local_time(clock.get('jumped_at'))}: no parcel expires "
                "until a technician confirms the time (lockerctl clock-confirm)")  # fmt: skip
    return f"trusted, {local_time(clock.get('kiosk_time'))}"


def storage_line(storage: StorageView) -> str:
    free = f"{(storage.get('free_bytes') or 0) / 2**20:.1f} MB free"
    if storage.get("state") == "full":
        waiting = storage.get("unwritten_events") or 0
        return (f"FULL ({free}): nothing can be stored, no door opens; {waiting} event(s) "
                "wait to be written")  # fmt: skip
    if storage.get("state") == "low":
        mark = (storage.get("low_space_bytes") or 0) / 2**20
        return f"LOW: {free} (the alarm is below {mark:.0f} MB)"
    return f"ok, {free}"


def fleet_line(fleet: dict[str, Any]) -> str:
    if not fleet.get("enabled"):
        return "off (no [fleet] in the config)"
    state = fleet.get("state", "?")
    broker = fleet.get("broker") or "?"
    unacked = fleet.get("unacked", 0)
    text = f"{state} to {broker}, {unacked} event(s) not yet acknowledged"
    if fleet.get("last_error") and state != "connected":
        text += f"; last error: {fleet['last_error']}"
    return text


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


def boards_table(boards: list[BoardView]) -> str:
    """One row per board, with its driver's counters (``stats``): the frames sent on the
    wire (Kerong, Modbus; ``-`` for boards without one), errors in total and by kind,
    retries, and when the board last answered."""
    rows = []
    for b in boards:
        stats = b.get("stats") or {}
        rows.append(
            [
                b.get("name"),
                b.get("driver"),
                "online" if b.get("online") else "OFFLINE",
                stats.get("frames_sent"),
                errors_text(stats.get("errors")),
                stats.get("retries"),
                local_time(b.get("last_seen") or stats.get("last_seen")),
                b.get("error"),
            ]
        )
    headers = ["NAME", "DRIVER", "STATE", "FRAMES", "ERRORS", "RETRIES", "LAST SEEN", "ERROR"]
    return table(headers, rows)


def errors_text(errors: Any) -> str:
    """A driver's error count: ``0``; ``3 (timeout 2, checksum 1)`` by kind, kinds with
    none left out; ``-`` when the driver does not count errors."""
    if isinstance(errors, dict):
        total = sum(int(n) for n in errors.values())
        kinds = ", ".join(f"{kind} {n}" for kind, n in errors.items() if n)
        return f"{total} ({kinds})" if kinds else str(total)
    return cell_text(errors)


def operations_table(ops: list[OperationView]) -> str:
    rows = [
        [o.get("compartment"), o.get("purpose"), o.get("status"), o.get("door"), o.get("operation")]
        for o in ops
    ]
    return table(["DOOR", "PURPOSE", "STATUS", "SENSED", "OP"], rows)


def compartments_table(compartments: list[CompartmentView]) -> str:
    rows = [
        [
            c.get("id"),
            c.get("size"),
            f"{c.get('board')}:{c.get('lock')}" + ("" if c.get("board_online", True) else " OFF"),
            "yes" if c.get("accessible") else "",
            c.get("state"),
            c.get("door"),
            "yes" if c.get("item") else "",
            c.get("operation"),
            check_text(c.get("check")),
            c.get("reason"),
        ]
        for c in compartments
    ]
    # REASON last: a technician's own words may be long.
    headers = ["ID", "SIZE", "LOCK", "ACCESS", "STATE", "DOOR", "ITEM", "OP", "CHECK", "REASON"]
    return table(headers, rows)


def check_text(check: CheckView | None) -> str | None:
    """Why a compartment needs a check, in the daemon's English, or nothing."""
    return check.get("text") if check else None


def parcels_table(parcels: list[ParcelView]) -> str:
    rows = [
        [
            p.get("barcode"),
            p.get("size"),
            p.get("state"),
            p.get("compartment"),
            p.get("phone") or p.get("email"),
            local_time(p.get("stored_at")),
            local_time(p.get("expires_at")),
        ]
        for p in parcels
    ]
    headers = ["BARCODE", "SIZE", "STATE", "DOOR", "RECIPIENT", "STORED", "EXPIRES"]
    return table(headers, rows)


def events_table(events: list[EventView]) -> str:
    return table(EVENT_HEADERS, [event_row(e) for e in events])


EVENT_HEADERS = ["SEQ", "TIME", "SEVERITY", "KIND", "DOOR", "ACTOR", "DETAIL"]


def event_row(event: EventView | Mapping[str, Any]) -> list[Any]:
    return [
        event.get("seq"),
        local_time(event.get("ts")),
        event.get("severity"),
        event.get("kind"),
        event.get("compartment"),
        event.get("actor"),
        detail_text(event.get("detail")),
    ]


# ``events --follow`` cannot align on rows it has not seen yet: fixed widths instead.
EVENT_WIDTHS = [5, 19, 8, 22, 5, 14]


def event_line(cells: Sequence[Any]) -> str:
    """One row of ``events --follow``, in columns of fixed width (a long cell pushes the rest)."""
    texts = [cell_text(c) for c in cells]
    padded = [t.ljust(w) for t, w in zip(texts, EVENT_WIDTHS, strict=False)]
    return "  ".join(padded + texts[len(EVENT_WIDTHS) :]).rstrip()


def job_result_line(index: int, total: int, result: dict[str, Any]) -> str:
    """``[3/16] A03 ok`` or ``[4/16] A04 FAILED: door did not open``."""
    width = len(str(total))
    head = f"[{index:>{width}}/{total}] {result.get('compartment', '?')}"
    if result.get("ok"):
        return f"{head} ok" + (f" ({result['detail']})" if result.get("detail") else "")
    return f"{head} FAILED: {result.get('detail') or 'no detail'}"


def job_summary(job: JobView, what: str) -> tuple[str, bool]:
    """``Self-test: 15 of 16 passed; FAILED: A04`` and whether everything passed."""
    results = job.get("results") or []
    failed = [str(r.get("compartment", "?")) for r in results if not r.get("ok")]
    passed = len(results) - len(failed)
    text = f"{what}: {passed} of {job.get('total', len(results))} passed"
    if failed:
        text += f"; FAILED: {', '.join(failed)}"
    skipped = job.get("skipped") or []
    if skipped:
        text += (f"; {len(skipped)} holding parcels skipped ({', '.join(skipped)};"
                 " --include-parcels opens them)")  # fmt: skip
    return text, not failed


def returns_summary(done: list[OperationView], end: str) -> tuple[str, bool]:
    """What a courier collecting returns is told at the end, and whether every door worked.

    ``end`` is the daemon's message when nothing (more) was to collect.
    """
    if not done:
        return end, True
    failed = [r for r in done if r.get("status") != OpStatus.CLOSED]
    text = f"Collected {len(done) - len(failed)} of {len(done)} expired parcels for return."
    if failed:
        text += " Not collected: " + ", ".join(
            f"{r.get('barcode')} ({r.get('compartment')})" for r in failed
        )
    return text, not failed


def keypad_line(keypad: KeypadView) -> str:
    """``ready``, or how long the lockout lasts (whole seconds, rounded up) and how many
    tries it refused so far."""
    retry = keypad.get("retry_after") or 0
    if retry <= 0:
        return "ready"
    refused = keypad.get("refused") or 0
    # rounded up, as the kiosk counts: "0 s" would send someone to a keypad still locked
    return f"locked for {math.ceil(retry)} s" + (f" ({refused} tries refused)" if refused else "")
