"""How ``locker-fleet`` words what the kiosks say: plain sentences and short tables.

Pure functions from the contract's messages (docs/fleet.md) to text; nothing here talks
to the broker.
"""

from __future__ import annotations

from typing import Any

from kiosk.fleet.operator import Answer, KioskView, NoAnswer
from kiosk.fleet.payloads import Body
from kiosk.lockerctl.format import NONE, detail_text, local_time, table

_VERSIONED = ("announce", "cancel", "desired_config")
KIOSK_HEADERS = ["KIOSK", "STATUS", "LAST SEEN", "FREE (free/total)", "ALARMS", "NOTES"]

# What a kiosk did, in words, when it says no more than "ok".
_DONE = {
    "open": "door {compartment} opened",
    "out_of_service": "{compartment} taken out of service",
    "in_service": "{compartment} back in service",
    "extend": "hold of {barcode} extended by {hours} h",
    "cancel_announcement": "announcement of {barcode} cancelled",
    "selftest": "self-test done",
    "resend_events": "sending events again from {from_seq}",
    "announce": "{barcode} announced (version {version})",
    "cancel": "announcement of {barcode} cancelled (version {version})",
    "desired_config": "settings of version {version} applied",
}


def kiosks_table(views: list[KioskView]) -> str:
    if not views:
        return "No kiosks: the broker holds no presence or state below lk/v1/kiosk/."
    rows = [
        [
            v.kiosk,
            v.status,
            "now" if v.status == "online" else local_time(v.last_seen),
            free_text(v.state),
            v.state.get("alarms"),
            notes_text(v.state),
        ]
        for v in views
    ]
    return table(KIOSK_HEADERS, rows)


def free_text(state: dict[str, Any]) -> str:
    """``S 3/4, M 1/3, L 0/2``: free and total compartments by size, in the kiosk's order."""
    free, total = state.get("free"), state.get("total")
    if not isinstance(free, dict):
        return NONE
    totals = total if isinstance(total, dict) else {}
    parts = []
    for size, count in free.items():
        parts.append(f"{size} {count}/{totals[size]}" if size in totals else f"{size} {count}")
    return ", ".join(parts) or NONE


def notes_text(state: dict[str, Any]) -> str:
    """What needs a look: the guard, boards down, doors open or unknown, out of service."""
    notes = []
    if state.get("guard") == "tripped":
        notes.append("mass-open guard TRIPPED")
    boards = state.get("boards")
    if isinstance(boards, dict):
        down = [str(name) for name, up in boards.items() if up is False]
        if down:
            notes.append("board down: " + ", ".join(down))
    for key, label in (
        ("doors_open", "open"),
        ("doors_unknown", "door unknown"),
        ("out_of_service", "out of service"),
    ):
        doors = state.get(key)
        if isinstance(doors, list) and doors:
            notes.append(f"{label}: " + ", ".join(str(d) for d in doors))
    return "; ".join(notes)


def answer_text(answer: Answer) -> str:
    """``KIOSK-17: Door A07 opened`` or ``KIOSK-17 refused: hourly_cap — ...``."""
    result = answer.result
    message = str(result.get("message") or "").strip().rstrip(".")
    if not answer.ok:
        reason = result.get("reason") or "refused"
        return f"{answer.kiosk} refused: {reason}" + (f" — {message}" if message else "")
    text = f"{answer.kiosk}: {message or _done(answer.sent)}"
    if result.get("replayed"):
        text += " (this message was answered before; nothing was done again)"
    details = result.get("result")
    if answer.sent.get("command") == "selftest" and isinstance(details, dict):
        text += "".join(f"\n  {k}: {_plain(v)}" for k, v in details.items())
    return text


def _done(sent: Body) -> str:
    pattern = _DONE.get(str(sent.get("command")), "{command} done")
    fields = {"command": sent.get("command"), **(sent.get("args") or {})}
    try:
        return pattern.format(**fields)
    except (KeyError, IndexError):
        return f"{sent.get('command')} done"


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        return detail_text(value)
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value) or NONE
    return NONE if value is None else str(value)


def no_answer_text(error: NoAnswer, timeout_s: float) -> str:
    """Why there is no answer, and what becomes of what was sent."""
    head = f"{error.kiosk}: no answer within {timeout_s:g} s; the kiosk may be offline."
    expires = local_time(error.sent.get("expires_at"))
    if error.sent.get("command") not in _VERSIONED:
        return (
            f"{head}\nThe command expires at {expires}: a kiosk that gets it "
            "before then carries it out; after that it refuses it unexecuted."
        )
    return (
        f"{head}\nIt is valid until {expires}: a kiosk that gets it before then applies it "
        "once, unless it has applied a later version. The broker keeps it for the kiosk's "
        "session; sending this same message again cannot apply it twice."
    )


def event_text(event: dict[str, Any]) -> str:
    """One event on one line: time, kiosk, seq, severity, kind, door, actor, detail."""
    cells = [
        local_time(event.get("ts")),
        str(event.get("kiosk", "?")),
        f"#{event.get('seq')}",
        str(event.get("severity") or NONE),
        str(event.get("kind") or NONE),
        str(event.get("compartment") or NONE),
        str(event.get("actor") or NONE),
        detail_text(event.get("detail") if isinstance(event.get("detail"), dict) else None),
    ]
    return "  ".join(cells).rstrip()
