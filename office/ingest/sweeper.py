"""The sweeper: gaps found and asked for again, kiosks offline too long, every few seconds.

Each ``serve`` process runs one; they need no coordination of their own: gaps and
offline alarms are inserted with insert-or-ignore, and a gap is asked for by whichever
process claims it first (a conditional update). Asking means the signed
``resend_events`` command from the kiosk's earliest open gap; the kiosk then sends its
log again from there, and what was stored already is ignored. A gap that stays open is
asked for again after ``resend_retry_s``, doubling each time up to an hour.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence

from sqlalchemy.engine import Engine

from office import sites
from office.config import IngestSection
from office.ingest.outgoing import CommandSender
from office.ingest.worker import is_transient
from office.store import gaps

log = logging.getLogger("office.sweeper")
MAX_RETRY_S = 3600.0
OFFICE = "office"
"""``asked_by`` of the commands the office sends by itself."""


class Sweeper:
    def __init__(
        self,
        engine: Engine,
        cfg: IngestSection,
        sender: CommandSender | None,
        site_rules: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.engine = engine
        self.site_rules = dict(site_rules or {})
        self.cfg = cfg
        self.sender = sender
        self.gaps_found = 0
        self.gaps_repaired = 0
        self.resends = 0
        self._warned_unsigned = False
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, name="office-sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._halt.wait(self.cfg.sweep_s):
            try:
                self.sweep(time.time())
            except Exception as exc:
                if not is_transient(exc):
                    log.exception("the sweep failed; it runs again in %.0f s", self.cfg.sweep_s)

    def sweep(self, now: float) -> None:
        """One round: scan, close repaired gaps, ask for due ones, offline alarms."""
        with self.engine.begin() as conn:
            self.gaps_found += gaps.scan(conn, now, self.cfg.gap_grace_s)
        with self.engine.begin() as conn:
            self.gaps_repaired += gaps.check_repaired(conn, now)
            gaps.kiosks_offline(conn, now, self.cfg.kiosk_offline_alarm_min * 60)
            sites.assign_new(conn, self.site_rules)
        self._ask_again(now)

    def _due(self, gap: gaps.Gap, now: float) -> bool:
        if gap.requested_at is None:
            return True
        wait = min(self.cfg.resend_retry_s * 2 ** max(gap.requests - 1, 0), MAX_RETRY_S)
        return now - gap.requested_at >= wait

    def _ask_again(self, now: float) -> None:
        with self.engine.connect() as conn:
            due = [g for g in gaps.open_gaps(conn) if self._due(g, now)]
        if not due:
            return
        if self.sender is None:
            if not self._warned_unsigned:
                log.warning("gaps cannot be asked for again: no [signing] key is configured")
                self._warned_unsigned = True
            return
        by_kiosk: dict[str, list[gaps.Gap]] = defaultdict(list)
        for gap in due:
            by_kiosk[gap.kiosk].append(gap)
        for kiosk, found in sorted(by_kiosk.items()):
            self._resend(kiosk, found, now)

    def _resend(self, kiosk: str, found: list[gaps.Gap], now: float) -> None:
        marker = secrets.token_hex(8)
        with self.engine.begin() as conn:
            claimed = [g for g in found if gaps.claim(conn, g, now, marker)]
        if not claimed:
            return  # another process asked just now
        first = min(g.first_seq for g in claimed)
        ranges = ", ".join(f"{g.first_seq}-{g.last_seq}" for g in claimed)
        assert self.sender is not None  # _ask_again asks only with a key
        sent = self.sender.resend_events(kiosk, first, OFFICE, f"events missing: {ranges}")
        self.resends += 1
        with self.engine.begin() as conn:
            conn.execute(
                gaps.s.gaps.update().where(gaps.G.command_id == marker).values(command_id=sent.id)
            )
        log.info("%s: events %s missing; asked to send again from %d", kiosk, ranges, first)
