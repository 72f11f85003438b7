"""The item sensors compared with the store, once per compartment after each start.

What the kiosk believes about a compartment may have gone wrong while it was not
running: a parcel put in or taken out by hand, a database restored from a backup or
rolled back by a torn write-ahead log. A compartment's first trustworthy reading after a
start (its door OPEN or CLOSED, not UNKNOWN) is therefore compared with the store:

==================  =================  ============================================
item sensor         store              then
==================  =================  ============================================
something inside    no parcel          needs a check: ``item_unexpected``
nothing inside      a parcel           needs a check: ``item_missing``
anything            contents unknown   something: ``item_unexpected``; nothing:
                    (a new database)   the check is settled by the sensor
no item sensor      anything           no comparison (a board without item sensors)
==================  =================  ============================================

The reading is taken before the compartment may be handed out (:meth:`Kiosk._refresh`
runs after it), and a board that is offline at start is compared when it first answers.
A compartment with a door operation under way (one left from before the start, which the
journal reconciles, or a new one) is compared once that operation has ended: an
operation abandoned at start may have been a pickup whose door the person opened and
closed while the daemon was away. One out of service for a check after an interrupted
deposit (``deposit_needs_check``) already waits for a person and is not flagged again.

Until it has been compared, a compartment is not handed out (:meth:`StartItemCheck.holds`).
Nor is one found to need a check that a full disk did not let the store record: the
finding is kept here and written after the next commit that goes through (the disk has
room again), and the mark is not rewritten meanwhile (:mod:`kiosk.store.mark`), so a
restart before then compares again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from kiosk.domain import CompartmentState
from kiosk.doors.hardware import Hardware
from kiosk.reasons import CheckReason, OosReason, OutOfService
from kiosk.store import Event, Store
from kiosk.store.base import StoreFull

log = logging.getLogger(__name__)

_HELD_AFTER_DEPOSIT = OutOfService(OosReason.CHECK_AFTER_INTERRUPTED_DEPOSIT)


class StartItemCheck:
    def __init__(self, store: Store, hw: Hardware) -> None:
        self.store = store
        self.hw = hw
        self.pending: set[str] = set()
        # Found to need a check while the disk was full: (reason, detail), to be written.
        self.unwritten: dict[str, tuple[CheckReason, dict[str, Any]]] = {}
        self._retrying = False
        store.listeners.append(self._committed)

    def holds(self, cid: str) -> bool:
        """``cid`` may not be handed out yet: not compared since the start, or found to
        need a check that is not in the store yet."""
        return cid in self.pending or cid in self.unwritten

    def flag(self, cid: str, reason: CheckReason, **detail: Any) -> None:
        """Flag ``cid`` in the store; on a full disk, hold it here until there is room."""
        try:
            self.store.flag_for_check(cid, reason, **detail)
        except StoreFull:
            log.error("compartment %s needs a check (%s), not recorded yet: the disk is "
                      "full; it is not handed out meanwhile", cid, reason)  # fmt: skip
            self.unwritten.setdefault(cid, (reason, detail))

    def _committed(self, event: Event) -> None:
        """A transaction went through: the findings the full disk held back, written."""
        if not self.unwritten or self._retrying:
            return
        self._retrying = True
        try:
            for cid, (reason, detail) in list(self.unwritten.items()):
                self.store.flag_for_check(cid, reason, **detail)
                del self.unwritten[cid]
        except StoreFull:
            pass  # still no room: the next commit tries again
        finally:
            self._retrying = False

    def begin(self, compartments: Iterable[str]) -> None:
        """Compare each of ``compartments`` at its first reading with no operation."""
        self.pending = set(compartments)

    def reading(self, cid: str, busy: bool) -> None:
        """``cid``'s door was read (OPEN or CLOSED): compare it, if it has not been since
        the start. ``busy``: a door operation is under way there; call again once it has
        ended (:meth:`Kiosk._finish_op`, :meth:`Kiosk._op_not_opened`)."""
        if cid not in self.pending or busy:
            return
        self.pending.discard(cid)
        item = self.hw.item(cid)
        if item is None:
            return
        row = self.store.compartment(cid)
        parcel = self.store.parcel_in(cid)
        held = row.needs_check or row.out_of_service == _HELD_AFTER_DEPOSIT  # a person will look
        if row.check_reason == CheckReason.CONTENTS_UNKNOWN:
            self._settle_unknown(cid, item, has_parcel=parcel is not None)
        elif held or row.state is CompartmentState.RESERVED:
            return
        elif item and parcel is None:
            self.flag(cid, CheckReason.ITEM_UNEXPECTED, item=True, state=str(row.state))
        elif not item and parcel is not None:
            self.flag(cid, CheckReason.ITEM_MISSING, item=False, parcel=parcel.id,
                      barcode=parcel.barcode)  # fmt: skip

    def _settle_unknown(self, cid: str, item: bool, has_parcel: bool) -> None:
        # On a full disk the compartment keeps its contents_unknown check: still held.
        try:
            if item and not has_parcel:
                self.store.replace_check(cid, CheckReason.CONTENTS_UNKNOWN,
                                         CheckReason.ITEM_UNEXPECTED, item=True)  # fmt: skip
            elif not item and not has_parcel:
                self.store.clear_check(cid, None, by="item_sensor", item=False)
        except StoreFull:
            log.error("compartment %s: its item sensor's answer is not recorded yet, the "
                      "disk is full; it keeps its check", cid)  # fmt: skip
