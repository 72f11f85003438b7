"""The kiosks' messages as the office accepts them: parsed, checked, typed.

What each message may say is declared in :mod:`kiosk.fleet.payloads`; the records here
are what the office keeps of them, each field checked (the wall of doors and the
boards' health keep the payloads' own types).

Everything from the broker is untrusted text. :func:`parse` turns one message into a
typed record or a :class:`Rejected` naming what was wrong; it never raises. The kiosk
is named by the topic, never by the payload (the broker's ACL lets a kiosk write only
below its own id; a payload naming another kiosk is refused). Limits keep every value
storable on both databases: no NUL in any string (PostgreSQL refuses it), integers
inside 64 bits, finite numbers only, JSON no deeper than :data:`MAX_DEPTH`.

An event whose envelope checks out but whose ``detail`` does not (too deep, too big)
is kept with its detail dropped and the reason beside it: refusing it would leave a
hole in the kiosk's sequence that asking again could never fill.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kiosk.fleet.payloads import BoardHealth, WallCompartment
from office.vocab import RejectReason

ROOT = ("lk", "v1", "kiosk")
LEAVES = ("events", "presence", "state/compartments", "health", "results", "config/reported")
KIOSK_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
KIND = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
COMMAND_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
SEVERITIES = ("info", "warning", "alarm")
MAX_PAYLOAD = 65_536
MAX_DEPTH = 16
MAX_DETAIL_DEPTH = 8
MAX_DETAIL_BYTES = 16_384
MAX_INT = 2**63 - 1
MAX_LIST = 1000


class Invalid(ValueError):
    """One field is not what the contract says; the message names it."""


@dataclass(frozen=True)
class Rejected:
    kiosk: str | None
    leaf: str | None
    reason: RejectReason
    detail: str
    size: int
    sha256: str


@dataclass(frozen=True)
class EventMsg:
    kiosk: str
    seq: int
    ts: float
    kind: str
    severity: str
    actor: str | None
    compartment: str | None
    parcel_ref: int | None
    detail: dict[str, Any]
    detail_dropped: str | None = None


@dataclass(frozen=True)
class PresenceMsg:
    kiosk: str
    status: str
    since: float | None
    version: str | None
    announcements_cursor: int | None


@dataclass(frozen=True)
class StateMsg:
    kiosk: str
    ts: float | None
    free: dict[str, int]
    total: dict[str, int]
    out_of_service: list[str]
    held: list[str]
    doors_open: list[str]
    doors_unknown: list[str]
    boards: dict[str, bool]
    guard: str
    alarms: int
    compartments: list[WallCompartment] | None = None
    """The wall of doors; None from a kiosk that sends no list (older versions)."""

    @property
    def boards_down(self) -> int:
        return sum(1 for online in self.boards.values() if not online)


@dataclass(frozen=True)
class HealthMsg:
    kiosk: str
    ts: float
    uptime_s: float | None
    outbox_depth: int | None
    notify_depth: int | None
    acked_seq: int | None = None
    boards: dict[str, BoardHealth] = field(default_factory=dict)


@dataclass(frozen=True)
class ResultMsg:
    kiosk: str
    id: str
    command: str | None
    ok: bool
    reason: str | None
    message: str | None
    result: dict[str, Any]
    replayed: bool


@dataclass(frozen=True)
class ReportedConfigMsg:
    kiosk: str
    body: dict[str, Any]


@dataclass(frozen=True)
class Cleared:
    """An empty payload: a retained topic cleared. Nothing to store."""

    kiosk: str
    leaf: str


Record = EventMsg | PresenceMsg | StateMsg | HealthMsg | ResultMsg | ReportedConfigMsg
Parsed = Record | Rejected | Cleared


def split_topic(topic: str) -> tuple[str, str] | None:
    """``(kiosk, leaf)`` of ``lk/v1/kiosk/{id}/{leaf}``, or None."""
    parts = topic.split("/")
    if len(parts) < 5 or tuple(parts[:3]) != ROOT or not KIOSK_ID.fullmatch(parts[3]):
        return None
    return parts[3], "/".join(parts[4:])


def parse(topic: str, payload: bytes) -> Parsed:
    """One message from the broker as a record, or why it was refused."""
    where = split_topic(topic)
    kiosk, leaf = where if where else (None, None)

    def refuse(reason: RejectReason, detail: str) -> Rejected:
        digest = hashlib.sha256(payload).hexdigest()
        return Rejected(
            kiosk, leaf if leaf in LEAVES else None, reason, detail[:300], len(payload), digest
        )

    if kiosk is None or leaf is None:
        return refuse(RejectReason.BAD_TOPIC, "not a kiosk's topic (lk/v1/kiosk/ID/...)")
    if leaf not in LEAVES:
        return refuse(RejectReason.UNKNOWN_TOPIC, f"the office reads no topic {leaf[:64]!r}")
    if not payload:
        return Cleared(kiosk, leaf)
    if len(payload) > MAX_PAYLOAD:
        return refuse(RejectReason.BAD_FIELD, f"{len(payload)} bytes, at most {MAX_PAYLOAD}")
    try:
        body = _json(payload)
    except RecursionError:
        return refuse(RejectReason.TOO_DEEP, "JSON nested too deep to read")
    except (ValueError, UnicodeDecodeError):
        return refuse(RejectReason.NOT_JSON, "not JSON text (UTF-8, no NaN or Infinity)")
    if not isinstance(body, dict):
        return refuse(RejectReason.NOT_AN_OBJECT, "not a JSON object")
    if depth(body) > MAX_DEPTH:
        return refuse(RejectReason.TOO_DEEP, f"JSON nested deeper than {MAX_DEPTH} levels")
    named = body.get("kiosk", kiosk)
    if named != kiosk:
        return refuse(
            RejectReason.WRONG_KIOSK,
            f"the payload names another kiosk than its topic ({str(named)[:64]!r})",
        )
    try:
        return _READERS[leaf](kiosk, body)
    except Invalid as exc:
        return refuse(RejectReason.BAD_FIELD, str(exc))


def _json(payload: bytes) -> Any:
    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not a number")

    return json.loads(payload.decode("utf-8"), parse_constant=no_constants)


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _children(value: Any) -> Any:
    if isinstance(value, dict):
        return value.values()
    return value if isinstance(value, list) else None


def depth(value: Any) -> int:
    """How deep JSON nests (a scalar is 0), without recursion; flat objects cost one pass."""
    children = _children(value)
    if children is None:
        return 0
    if all(type(child) in _SCALARS for child in children):
        return 1
    deepest, stack = 1, [(child, 2) for child in children]
    while stack:
        item, level = stack.pop()
        inner = _children(item)
        if inner is None:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in inner)
    return deepest


# -- field checks ---------------------------------------------------------------------


def integer(body: dict[str, Any], name: str, low: int = 0, required: bool = True) -> int | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_INT:
        raise Invalid(f"{name}: must be an integer from {low} to 2^63-1")
    return value


def number(body: dict[str, Any], name: str, required: bool = True) -> float | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or abs(value) > 1e12
    ):
        raise Invalid(f"{name}: must be a finite number of seconds")
    return float(value)


def text(
    body: dict[str, Any],
    name: str,
    limit: int,
    required: bool = False,
    pattern: re.Pattern[str] | None = None,
) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= limit or "\x00" in value:
        raise Invalid(f"{name}: must be text of 1-{limit} characters without NUL")
    if pattern is not None and not pattern.fullmatch(value):
        raise Invalid(f"{name}: not a valid {name}")
    return value


def names(body: dict[str, Any], name: str) -> list[str]:
    value = body.get(name, [])
    if (
        not isinstance(value, list)
        or len(value) > MAX_LIST
        or not all(isinstance(v, str) and 0 < len(v) <= 64 and "\x00" not in v for v in value)
    ):
        raise Invalid(f"{name}: must be a list of up to {MAX_LIST} names")
    return value


def counts(body: dict[str, Any], name: str) -> dict[str, int]:
    value = body.get(name)
    if not isinstance(value, dict) or len(value) > 64:
        raise Invalid(f"{name}: must be an object of counts by size")
    for size, n in value.items():
        if (
            not 0 < len(size) <= 16
            or "\x00" in size
            or isinstance(n, bool)
            or not isinstance(n, int)
            or not 0 <= n <= 1_000_000
        ):
            raise Invalid(f"{name}: must map sizes to counts from 0 to 1,000,000")
    return value


def storable(
    value: Any, limit: int = MAX_DETAIL_BYTES, max_depth: int = MAX_DETAIL_DEPTH
) -> str | None:
    """Why ``value`` cannot be kept as JSON on both databases, or None."""
    if depth(value) > max_depth:
        return f"nested deeper than {max_depth} levels"
    if len(json.dumps(value, separators=(",", ":"))) > limit:
        return f"larger than {limit} bytes"
    for item in _scalars(value):
        if isinstance(item, str) and "\x00" in item:
            return "holds a NUL character"
        if isinstance(item, int) and not isinstance(item, bool) and abs(item) > MAX_INT:
            return "holds an integer beyond 64 bits"
    return None


def _scalars(value: Any) -> list[Any]:
    """Every key and scalar inside ``value`` (a flat object in one step)."""
    if isinstance(value, dict) and all(type(v) in _SCALARS for v in value.values()):
        return [*value, *value.values()]
    found: list[Any] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        else:
            found.append(item)
    return found


# -- one reader per topic ---------------------------------------------------------------


def _event(kiosk: str, body: dict[str, Any]) -> EventMsg:
    detail = body.get("detail", {})
    if detail is None:
        detail = {}
    if not isinstance(detail, dict):
        raise Invalid("detail: must be a JSON object")
    dropped = storable(detail)
    parcel = detail.get("parcel") if dropped is None else None
    parcel_ref = (
        parcel
        if isinstance(parcel, int) and not isinstance(parcel, bool) and 0 < parcel <= MAX_INT
        else None
    )
    severity = body.get("severity")
    if severity not in SEVERITIES:
        raise Invalid(f"severity: must be one of {', '.join(SEVERITIES)}")
    return EventMsg(
        kiosk=kiosk,
        seq=integer(body, "seq", low=1) or 0,
        ts=number(body, "ts") or 0.0,
        kind=text(body, "kind", 64, required=True, pattern=KIND) or "",
        severity=str(severity),
        actor=text(body, "actor", 128),
        compartment=text(body, "compartment", 32),
        parcel_ref=parcel_ref,
        detail={} if dropped else detail,
        detail_dropped=f"detail {dropped}" if dropped else None,
    )


def _presence(kiosk: str, body: dict[str, Any]) -> PresenceMsg:
    status = body.get("status")
    if status not in ("online", "offline"):
        raise Invalid("status: must be online or offline")
    return PresenceMsg(
        kiosk,
        str(status),
        number(body, "since", required=False),
        text(body, "version", 64),
        integer(body, "announcements_cursor", required=False),
    )


def _state(kiosk: str, body: dict[str, Any]) -> StateMsg:
    boards = body.get("boards", {})
    if (
        not isinstance(boards, dict)
        or len(boards) > 64
        or not all(
            isinstance(v, bool) and 0 < len(k) <= 64 and "\x00" not in k for k, v in boards.items()
        )
    ):
        raise Invalid("boards: must map board names to true or false")
    guard = body.get("guard", "ok")
    if guard not in ("ok", "tripped"):
        raise Invalid("guard: must be ok or tripped")
    return StateMsg(
        kiosk=kiosk,
        ts=number(body, "ts", required=False),
        free=counts(body, "free"),
        total=counts(body, "total"),
        out_of_service=names(body, "out_of_service"),
        held=names(body, "held"),
        doors_open=names(body, "doors_open"),
        doors_unknown=names(body, "doors_unknown"),
        boards=boards,
        guard=str(guard),
        alarms=integer(body, "alarms", required=False) or 0,
        compartments=_compartments(body),
    )


COMPARTMENT_STATES = ("AVAILABLE", "RESERVED", "OCCUPIED", "OUT_OF_SERVICE")
DOORS = ("OPEN", "CLOSED", "UNKNOWN")
FLAGS = ("accessible", "held", "board_online")


def _compartments(body: dict[str, Any]) -> list[WallCompartment] | None:
    """The wall of compartments, each checked and reduced to the fields the office keeps."""
    value = body.get("compartments")
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > MAX_LIST:
        raise Invalid(f"compartments: must be a list of up to {MAX_LIST} compartments")
    wall = []
    for item in value:
        if not isinstance(item, dict):
            raise Invalid("compartments: each must be an object")
        if item.get("state") not in COMPARTMENT_STATES or item.get("door") not in DOORS:
            raise Invalid("compartments: state or door is not one the kiosk knows")
        if not all(isinstance(item.get(flag, False), bool) for flag in FLAGS):
            raise Invalid(f"compartments: {', '.join(FLAGS)} must be true or false")
        wall.append(
            WallCompartment(
                id=text(item, "id", 32, required=True) or "",
                size=text(item, "size", 16, required=True) or "",
                state=item["state"],
                door=item["door"],
                accessible=bool(item.get("accessible", False)),
                held=bool(item.get("held", False)),
                board_online=bool(item.get("board_online", False)),
            )
        )
    return wall


def _health(kiosk: str, body: dict[str, Any]) -> HealthMsg:
    boards = body.get("boards", {})
    if not isinstance(boards, dict) or len(boards) > 64:
        raise Invalid("boards: must be an object of boards")
    kept: dict[str, BoardHealth] = {}
    for name, board in boards.items():
        if not isinstance(board, dict) or not 0 < len(name) <= 64 or "\x00" in name:
            raise Invalid("boards: each board must be an object under its name")
        online = board.get("online")
        if not isinstance(online, bool):
            raise Invalid(f"boards.{name[:64]}.online: must be true or false")
        kept[name] = BoardHealth(
            online=online,
            errors=integer(board, "errors", required=False),
            last_seen=number(board, "last_seen", required=False),
        )
    return HealthMsg(
        kiosk,
        number(body, "ts") or 0.0,
        number(body, "uptime_s", required=False),
        integer(body, "outbox_depth", required=False),
        integer(body, "notify_depth", required=False),
        integer(body, "acked_seq", required=False),
        kept,
    )


def _result(kiosk: str, body: dict[str, Any]) -> ResultMsg:
    ok, replayed = body.get("ok"), body.get("replayed", False)
    if not isinstance(ok, bool) or not isinstance(replayed, bool):
        raise Invalid("ok and replayed: must be true or false")
    result = body.get("result") or {}
    if not isinstance(result, dict) or storable(result) is not None:
        raise Invalid("result: must be a small JSON object")
    return ResultMsg(
        kiosk,
        text(body, "id", 64, required=True, pattern=COMMAND_ID) or "",
        text(body, "command", 32),
        ok,
        text(body, "reason", 32),
        text(body, "message", 1000),
        result,
        replayed,
    )


def _reported(kiosk: str, body: dict[str, Any]) -> ReportedConfigMsg:
    why = storable(body, max_depth=4)
    if why is not None:
        raise Invalid(f"the reported config is {why}")
    return ReportedConfigMsg(kiosk, body)


_READERS: dict[str, Callable[[str, dict[str, Any]], Record]] = {
    "events": _event,
    "presence": _presence,
    "state/compartments": _state,
    "health": _health,
    "results": _result,
    "config/reported": _reported,
}
