"""The kiosk's time: durations on a clock that never steps, deadlines on one it trusts.

Two clocks, two jobs:

- the **monotonic clock** (:func:`monotonic`, ``CLOCK_BOOTTIME``: never set, and it
  counts a suspend too) measures how much time really passed. It runs on across
  restarts of the daemon within one boot, and starts again from 0 at the next boot.
- the **wall clock** (``CLOCK_REALTIME``) says what time it is, but it can be set: a Pi
  without a battery clock starts at the time it last saved and steps forward once a
  time server answers; a bad time source or a person can step it anywhere.

:class:`KioskClock` gives the kiosk one timeline, :meth:`KioskClock.now`: an *anchor*
(a wall-clock reading and the monotonic reading taken with it) plus the monotonic time
since. Everything the kiosk stamps (events, parcels' deadlines, door operations,
notification retries) is on that timeline, so a step of the wall clock changes none of
it: no duration stretches or vanishes. The anchor is kept in the store's ``meta``
with the boot's id, so a restarted daemon carries on the same timeline.

The anchor moves to the wall clock only when the kiosk has reason to trust it:

- at the first synchronisation after boot (``[clock] trust``: systemd-timesyncd's
  sync file, a configured command, or ``always`` for a battery-backed clock);
- when a technician confirms the time (:meth:`KioskClock.confirm`).

Before the first, and while a jump waits for the second, expiry and reminders wait
(:attr:`KioskClock.is_trusted`). A *jump* is the wall clock moving away from the
timeline by more than ``max_step_s``, either way: a ``clock_jump`` alarm. Should the
wall clock come back within ``max_step_s`` of the timeline, the jump was false and the
kiosk trusts it again by itself (``clock_returned``)::

    time that really passed  ──────────────────────────────────────────────►
    wall clock               10:00  10:01 │+4 d  10:03  10:04│  10:05  10:06
    the kiosk's time         10:00  10:01    10:02  10:03  10:04   10:05  10:06
                                          ^ clock_jump       ^ clock_returned
                                            (expiry held)      (trusted again)

When the anchor moves by a step, what this boot stamped on the old timeline moves with
it (:meth:`kiosk.store.Store.shift_times_since`): a parcel stored since boot keeps the
hold it has really had, as the monotonic clock measured it, and so does a compartment
held since boot for an announced parcel. Parcels and holds from before the boot are
measured by the wall clock once it is trusted: nothing else knows how long the kiosk
was off.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from kiosk.config.host import ClockSection
from kiosk.errors import ConflictError
from kiosk.protocol.events import EventKind, Severity
from kiosk.protocol.views import ClockView
from kiosk.store import Store
from kiosk.store.base import StoreError

log = logging.getLogger(__name__)

BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")
BOOT_ID_ENV = "LOCKER_BOOT_ID"
"""The unit passes the boot's id in this (``%b``): its ``ProcSubset=pid`` hides the file."""
META_KEY = "clock.timeline"
SYNC_COMMAND_TIMEOUT_S = 10.0
FOLLOW_S = 1.0
"""A trusted clock's small steps (a time server's fine corrections) the kiosk's time
follows without a word, one round at a time: each moves its deadlines by less than a
second, and a time source walking the clock away a second a round gains under 2 % of a
hold. Larger steps add up towards ``max_step_s``."""
NOISE_S = 0.01  # below this, two readings of the clocks only differ in when they were taken


def monotonic() -> float:
    """Seconds since boot, a suspend included; never set, never stepped."""
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def read_boot_id(path: Path | None = None) -> str:
    """This boot's id, as systemd or the kernel (``path``, by default
    :data:`BOOT_ID_FILE`) gives it; "" where neither does: every start is then a new
    boot. The one reader of it: what the kiosk keeps across a restart of the daemon
    (its timeline, the keypads' lockouts, the fleet's hourly caps) is told apart from
    what a reboot ended by it, and under the unit only its environment has it."""
    given = os.environ.get(BOOT_ID_ENV, "").replace("-", "").strip().lower()
    if given:
        return given
    try:
        return (path or BOOT_ID_FILE).read_text().strip().replace("-", "").lower()
    except OSError:
        return ""


class ClockState(StrEnum):
    WAITING = "waiting_for_sync"  # not synchronised since boot: expiry waits
    TRUSTED = "trusted"
    JUMPED = "jumped"  # the wall clock left the timeline: expiry waits for a technician


@dataclass(frozen=True)
class Timeline:
    """What :meth:`KioskClock.now` is made of, as kept in ``meta``."""

    boot: str
    wall: float  # the anchor: a wall-clock reading ...
    mono: float  # ... and the monotonic reading taken with it
    first_op: int  # the boot's first door operation: what moves with the anchor
    synced: bool  # the wall clock was synchronised (or confirmed) in this boot
    jump: dict[str, Any] | None = None  # an unconfirmed jump: step_s, at, boot
    # the boot's first parcel: the holds for it and later ones move with the anchor too
    # (None in a timeline an earlier version kept: its holds stay where they are)
    first_parcel: int | None = None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, raw: str) -> Timeline | None:
        """None for a value this version cannot read (the kiosk then starts a new one)."""
        try:
            data = json.loads(raw)
            first_parcel = data.get("first_parcel")
            return cls(str(data["boot"]), float(data["wall"]), float(data["mono"]),
                       int(data["first_op"]), bool(data["synced"]), data.get("jump"),
                       None if first_parcel is None else int(first_parcel))  # fmt: skip
        except (ValueError, KeyError, TypeError):
            return None


class KioskClock:
    """The kiosk's timeline and whether its wall clock may be trusted; see the module
    docstring. Lives on the daemon's loop; :meth:`check` at start and every
    housekeeping round. Construction points the store's clock at :meth:`now`."""

    def __init__(
        self,
        settings: ClockSection,
        store: Store,
        *,
        wall: Callable[[], float] = time.time,
        mono: Callable[[], float] = monotonic,
        boot: str | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self._wall = wall
        self._mono = mono
        self._unsaved = False
        self._line = self._restore(read_boot_id() if boot is None else boot)
        store.clock = self.now

    # -- reading --------------------------------------------------------------------

    def now(self) -> float:
        """The kiosk's time: the anchor plus the time that really passed since."""
        return self._line.wall + (self._mono() - self._line.mono)

    @property
    def is_trusted(self) -> bool:
        """Expiry, reminders and hold releases may act."""
        return self.state is ClockState.TRUSTED

    @property
    def state(self) -> ClockState:
        if self._line.jump is not None:
            return ClockState.JUMPED
        return ClockState.TRUSTED if self._line.synced else ClockState.WAITING

    def view(self) -> ClockView:
        """The clock as ``GET /v1/status`` shows it."""
        jump = self._line.jump or {}
        return {
            "state": str(self.state),
            "trusted": self.is_trusted,
            "trust": self.settings.trust,
            "kiosk_time": self.now(),
            "wall_time": self._wall(),
            "jump_s": jump.get("step_s"),
            "jumped_at": jump.get("at"),
            "max_step_s": self.settings.max_step_s,
        }

    # -- watching -------------------------------------------------------------------

    async def check(self) -> None:
        """Look for the first synchronisation of the boot, then watch for jumps."""
        if not self._line.synced:
            if await self._is_synced():
                self._move_anchor(None)
        else:
            self._watch()
        self._save_if_owed()

    def _watch(self) -> None:
        offset = self._wall() - self.now()
        jump = self._line.jump
        if jump is None and abs(offset) > self.settings.max_step_s:
            self._record_jump(offset)
        elif jump is None and NOISE_S < abs(offset) <= FOLLOW_S:
            self._line = dataclasses.replace(self._line, wall=self._line.wall + offset)
            self._unsaved = True
        # Only a jump seen in this boot can be seen to end: after a reboot nothing relates
        # the old timeline to the new one, and a technician decides.
        elif (jump is not None and jump.get("boot") == self._line.boot
              and abs(offset) <= self.settings.max_step_s):  # fmt: skip
            self._end_jump(jump)

    def _record_jump(self, offset: float) -> None:
        """Hold expiry at once, in memory; the record follows when the disk allows."""
        now = self.now()
        jump = {"step_s": round(offset, 1), "at": now, "boot": self._line.boot}
        self._line = dataclasses.replace(self._line, jump=jump)
        self._unsaved = True
        log.error("the wall clock jumped %+.0f s against the time that really passed: "
                  "expiry waits until a technician confirms the time", offset)  # fmt: skip
        self.store.log_event(
            EventKind.CLOCK_JUMP,
            Severity.ALARM,
            None,
            None,
            step_s=jump["step_s"],
            wall_time=round(now + offset, 1),
        )

    def _end_jump(self, jump: dict[str, Any]) -> None:
        self._line = dataclasses.replace(self._line, jump=None)
        self._unsaved = True
        log.warning("the wall clock is back on the kiosk's time: expiry goes on")
        self.store.log_event(
            EventKind.CLOCK_RETURNED,
            Severity.WARNING,
            None,
            None,
            step_s=jump["step_s"],
            after_s=round(self.now() - float(jump["at"]), 1),
        )

    async def _is_synced(self) -> bool:
        trust = self.settings.trust
        if trust == "always":
            return True
        if trust == "timesyncd":
            return self.settings.sync_file.exists()
        return await asyncio.to_thread(run_sync_command, self.settings.sync_command)

    # -- moving the anchor ----------------------------------------------------------

    def confirm(self, technician: str) -> ClockView:
        """A technician says the wall clock is right: the kiosk takes it as its time.

        Raises :class:`ConflictError` (``clock_trusted``) when there is nothing to
        confirm, :class:`~kiosk.store.base.StoreError` when it cannot be recorded."""
        if self.is_trusted:
            raise ConflictError("The kiosk's clock is trusted: there is nothing to confirm.",
                                "clock_trusted")  # fmt: skip
        self._move_anchor(technician)
        return self.view()

    def _move_anchor(self, technician: str | None) -> None:
        """Take the wall clock as the kiosk's time: at the boot's synchronisation, or
        confirmed by ``technician``. In one transaction with what this boot stamped on
        the old timeline, the new timeline and the event; if that cannot be written,
        nothing moves (the clock stays untrusted) and it is tried again."""
        old = self._line
        wall, mono = self._wall(), self._mono()
        step = wall - self.now()
        confirmed = technician is not None
        kind = EventKind.CLOCK_CONFIRMED if confirmed else EventKind.CLOCK_SYNCHRONISED
        self._line = dataclasses.replace(old, wall=wall, mono=mono, synced=True,
                                         jump=None if confirmed else old.jump)  # fmt: skip
        try:
            with self.store.transaction():
                moved = self.store.shift_times_since(old.first_op, step, old.first_parcel)
                self.store.set_meta(META_KEY, self._line.to_json())
                self.store.log_event(
                    kind,
                    Severity.WARNING if confirmed else Severity.INFO,
                    technician,
                    None,
                    step_s=round(step, 1),
                    parcels_moved=moved,
                )
        except StoreError:
            self._line = old
            raise
        self._unsaved = False
        log.info("%s: the kiosk's time moved %+.1f s to the wall clock", kind, step)

    # -- keeping it -----------------------------------------------------------------

    def _restore(self, boot: str) -> Timeline:
        raw = self.store.get_meta(META_KEY)
        kept = Timeline.from_json(raw) if raw else None
        if kept is not None and boot and kept.boot == boot:
            return kept  # the daemon restarted: the same boot, the same timeline
        line = Timeline(
            boot=boot,
            wall=self._wall(),
            mono=self._mono(),
            first_op=self.store.next_op_id(),
            first_parcel=self.store.next_parcel_id(),
            synced=self.settings.trust == "always",
            jump=kept.jump if kept is not None else None,  # a jump waits through a reboot
        )
        self._unsaved = True
        return line

    def _save_if_owed(self) -> None:
        if not self._unsaved:
            return
        with contextlib.suppress(StoreError):  # a full disk: tried again next round
            self.store.set_meta(META_KEY, self._line.to_json())
            self._unsaved = False


def run_sync_command(argv: Sequence[str]) -> bool:
    """True when ``argv`` (``[clock] sync_command``) says the clock is synchronised:
    exit status 0 within :data:`SYNC_COMMAND_TIMEOUT_S`."""
    try:
        done = subprocess.run(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=SYNC_COMMAND_TIMEOUT_S,
                              check=False)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("clock check %s failed: %s", argv[0], exc)
        return False
    return done.returncode == 0
