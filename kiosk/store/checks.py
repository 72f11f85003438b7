"""Compartments that need a person's check before they are handed out again.

A compartment is flagged with a reason code (:class:`kiosk.reasons.CheckReason`) and
what was found; the flag is independent of its state, so an occupied compartment can
need a check as well as a free one. Each step is an event: ``compartment_needs_check``
(an alarm) when it is flagged, ``compartment_check_cleared`` when a person (or, for a
compartment whose contents were unknown, its item sensor) has settled it.
"""

from __future__ import annotations

import json
from typing import Any

from kiosk.errors import ConflictError, NotFound
from kiosk.protocol.events import EventKind, Severity
from kiosk.reasons import CheckReason
from kiosk.store.base import StoreBase
from kiosk.store.rows import CompartmentRow

_SET = "UPDATE compartments SET check_reason = ?, check_detail = ?, check_since = ? WHERE id = ?"


class ChecksMixin(StoreBase):
    def flag_for_check(
        self, cid: str, reason: CheckReason, actor: str | None = None, **detail: Any
    ) -> bool:
        """Flag ``cid`` with an alarm. False, and no event, when it already needs a check
        (the first reason found stays: it is the one a person is told about)."""
        with self._tx() as db:
            row = self._one("SELECT check_reason FROM compartments WHERE id = ?", cid)
            if row is None or row["check_reason"] is not None:
                return False
            db.execute(_SET, (str(reason), _json(detail), self.clock(), cid))
            self._event(
                EventKind.COMPARTMENT_NEEDS_CHECK,
                Severity.ALARM,
                actor,
                cid,
                reason=str(reason),
                **detail,
            )
        return True

    def flag_all_for_check(self, reason: CheckReason, **detail: Any) -> list[str]:
        """Flag every compartment of the config that needs no check yet; their ids."""
        with self._tx():
            rows = self._db.execute(
                "SELECT id FROM compartments WHERE in_config = 1 AND check_reason IS NULL"
                " ORDER BY id"
            ).fetchall()
            for row in rows:
                self.flag_for_check(row["id"], reason, **detail)
        return [row["id"] for row in rows]

    def replace_check(self, cid: str, was: CheckReason, reason: CheckReason, **detail: Any) -> bool:
        """A flag for ``was`` becomes one for ``reason`` (a finding that says more), with
        an alarm; False when ``cid`` is not flagged for ``was``."""
        with self._tx() as db:
            row = self._one("SELECT check_reason FROM compartments WHERE id = ?", cid)
            if row is None or row["check_reason"] != str(was):
                return False
            db.execute(_SET, (str(reason), _json(detail), self.clock(), cid))
            self._event(
                EventKind.COMPARTMENT_NEEDS_CHECK,
                Severity.ALARM,
                None,
                cid,
                reason=str(reason),
                replaces=str(was),
                **detail,
            )
        return True

    def clear_check(self, cid: str, actor: str | None, **detail: Any) -> CompartmentRow:
        """The check is done: ``cid`` may be handed out again (if its state allows).
        Raises :class:`NotFound`, or :class:`ConflictError` when it needs no check."""
        with self._tx() as db:
            row = self._one("SELECT * FROM compartments WHERE id = ? AND in_config = 1", cid)
            if row is None:
                raise NotFound(f"no compartment {cid}")
            if row["check_reason"] is None:
                raise ConflictError(f"Compartment {cid} does not need a check.", "no_check")
            db.execute(_SET, (None, None, None, cid))
            self._event(EventKind.COMPARTMENT_CHECK_CLEARED, Severity.INFO, actor, cid,
                        reason=row["check_reason"], **detail)  # fmt: skip
            row = self._one("SELECT * FROM compartments WHERE id = ?", cid)
        assert row is not None
        return CompartmentRow.from_row(row)

    def compartments_needing_check(self) -> list[CompartmentRow]:
        rows = self._db.execute(
            "SELECT * FROM compartments WHERE in_config = 1 AND check_reason IS NOT NULL"
            " ORDER BY id"
        )
        return [CompartmentRow.from_row(r) for r in rows]


def _json(detail: dict[str, Any]) -> str:
    return json.dumps(detail, sort_keys=True)
