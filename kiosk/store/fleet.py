"""What the fleet link keeps: the record of signed messages, and its cursors.

``fleet_commands`` holds every signed message the kiosk acted on (or refused after its
signature checked out), keyed by the message's id: commands, announcements and desired
configs alike. An id seen again is a replay, answered from here without acting again.
The housekeeping forgets a message once no copy of it can pass the time check.
The cursors live in ``meta``: how far the broker has acknowledged the event log (the log
*is* the outbox), the highest announcement version applied, the desired config in force
(its settings, version and id), and the hourly caps' recent stamps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kiosk.protocol.events import EventKind, Severity
from kiosk.store.base import StoreBase

ACKED_SEQ = "fleet.acked_seq"
# Announcements and desired config were once taken unsigned: what they left under the
# old keys ("fleet.announcements_cursor", "fleet.settings") came from whoever could
# publish, so the signed ones start afresh under keys of their own. A cursor moved to
# 2^62 by a forged announcement, or a cap raised by a forged config, does not carry over.
ANNOUNCEMENTS_CURSOR = "fleet.signed_announcements_cursor"
SETTINGS = "fleet.signed_settings"
UNSIGNED_SETTINGS = "fleet.settings"
SETTINGS_VERSION = "fleet.settings_version"
SETTINGS_ID = "fleet.settings_id"


@dataclass(frozen=True)
class FleetCommandRow:
    id: str
    received_at: float
    kid: str | None
    command: str
    args: dict[str, Any]
    ok: bool
    reason: str | None
    result: dict[str, Any]


class FleetMixin(StoreBase):
    def fleet_command(self, command_id: str) -> FleetCommandRow | None:
        row = self._one("SELECT * FROM fleet_commands WHERE id = ?", command_id)
        if row is None:
            return None
        return FleetCommandRow(
            row["id"],
            row["received_at"],
            row["kid"],
            row["command"],
            json.loads(row["args"]),
            bool(row["ok"]),
            row["reason"],
            json.loads(row["result"]),
        )

    def record_fleet_command(
        self,
        command_id: str,
        kid: str | None,
        command: str,
        args: dict[str, Any],
        ok: bool,
        reason: str | None,
        result: dict[str, Any],
        event: bool = True,
    ) -> None:
        """The dedupe record and (unless ``event`` is false: the action logs its own) its
        event; inside the action's transaction, or alone."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO fleet_commands (id, received_at, kid, command, args, ok, reason,"
                " result) VALUES (?,?,?,?,?,?,?,?)",
                (
                    command_id,
                    self.clock(),
                    kid,
                    command,
                    json.dumps(args, sort_keys=True),
                    int(ok),
                    reason,
                    json.dumps(result, sort_keys=True),
                ),
            )
            if event:
                self._event(
                    EventKind.REMOTE_COMMAND if ok else EventKind.REMOTE_COMMAND_REFUSED,
                    Severity.INFO if ok else Severity.WARNING,
                    f"fleet:{kid}" if kid else "fleet",
                    args.get("compartment") if isinstance(args.get("compartment"), str) else None,
                    command_id=command_id,
                    command=command,
                    reason=reason,
                )

    def purge_fleet_commands(self, before: float) -> int:
        """Forget the messages taken before ``before`` (the kiosk's time): the caller
        knows that a copy of any of them is refused as expired by now
        (:data:`kiosk.fleet.channels.REPLAYABLE_S`). Returns how many."""
        with self._tx() as db:
            return int(db.execute("DELETE FROM fleet_commands WHERE received_at < ?",
                                  (before,)).rowcount)  # fmt: skip

    def update_fleet_result(self, command_id: str, ok: bool, result: dict[str, Any]) -> None:
        """The outcome of an action that finished after its record (a door seen open)."""
        with self._tx() as db:
            db.execute(
                "UPDATE fleet_commands SET ok = ?, result = ? WHERE id = ?",
                (int(ok), json.dumps(result, sort_keys=True), command_id),
            )

    def meta_int(self, key: str) -> int:
        value = self.get_meta(key)
        return int(value) if value else 0

    def events_unacked(self) -> int:
        """Events the broker has not acknowledged yet (the link's outbox depth)."""
        return max(0, self.last_event_seq() - self.meta_int(ACKED_SEQ))
