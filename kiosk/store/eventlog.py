"""The event log's hash chain.

Each row stores the hash of the row before it and its own hash over its content and
that previous hash, so deleting, reordering or editing any row breaks the chain from
that row on. SQLite triggers refuse UPDATE and DELETE; the chain catches whoever
bypasses them (for example by editing the file).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class Event:
    """One row of the log. ``kind`` and ``severity`` are written from
    :class:`~kiosk.protocol.events.EventKind` and ``Severity`` members and read back as
    stored: a row is never rewritten, so it may hold a kind an earlier version wrote."""

    seq: int
    ts: float
    kind: str
    severity: str
    actor: str | None
    compartment: str | None
    detail: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ts": self.ts,
            "kind": self.kind,
            "severity": self.severity,
            "actor": self.actor,
            "compartment": self.compartment,
            "detail": self.detail,
        }


def canonical_detail(detail: Mapping[str, Any]) -> str:
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), default=str)


def row_hash(
    prev_hash: str,
    seq: int,
    ts: float,
    kind: str,
    severity: str,
    actor: str | None,
    compartment: str | None,
    detail_json: str,
) -> str:
    body = json.dumps(
        [prev_hash, seq, repr(ts), kind, severity, actor, compartment, detail_json],
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    rows: int
    first_bad_seq: int | None = None
    reason: str = ""


def verify_rows(rows: Iterable[tuple[Any, ...]]) -> ChainReport:
    """Check rows of ``(seq, ts, kind, severity, actor, compartment, detail, prev, hash)``."""
    prev = GENESIS
    count = 0
    for seq, ts, kind, severity, actor, compartment, detail, prev_hash, digest in rows:
        count += 1
        if prev_hash != prev:
            return ChainReport(False, count, seq, "link to the previous event is broken")
        expected = row_hash(prev_hash, seq, ts, kind, severity, actor, compartment, detail)
        if digest != expected:
            return ChainReport(False, count, seq, "event content does not match its hash")
        prev = digest
    return ChainReport(True, count)
