"""The kiosk's use cases: what a customer, a courier and a technician can do.

One :class:`Kiosk` lives on the daemon's event loop and owns all state: the store,
the hardware view, the live door operations, the allocator and the sessions. Front
ends (the API, later the fleet link) call its methods; nothing else changes state.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import logging
import math
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from drivers.base import DoorState
from kiosk.access import codes, pins
from kiosk.access.sessions import Session, Sessions
from kiosk.access.staff_sync import StaffSync
from kiosk.allocation import Allocator
from kiosk.broadcast import Bus
from kiosk.clock import KioskClock
from kiosk.config import CompartmentConfig, Config
from kiosk.disk import DiskWatch
from kiosk.domain import CompartmentState, DoorOutcome, ParcelState, Purpose, Role
from kiosk.doors.checks import StartItemCheck
from kiosk.doors.guard import MassOpenGuard
from kiosk.doors.hardware import Hardware
from kiosk.doors.operations import FINISH_RETRY_S, Doors, LiveOp
from kiosk.errors import (
    AuthError,
    ConflictError,
    InvalidInput,
    LockerError,
    WrongCodeLockedOut,
)
from kiosk.keypads import Keypads
from kiosk.notify.text import Notices
from kiosk.protocol.events import EventKind, ItemCheck, OpStep, Severity, item_check_kind
from kiosk.protocol.stream import StreamKind
from kiosk.reasons import CheckReason, check_view, reason_codes
from kiosk.store import Event, OpRow, ParcelRow, Store, UserRow
from kiosk.store.base import StoreError, StoreFull, StoreRefused
from kiosk.store.store import CompartmentSpec

log = logging.getLogger(__name__)


class DoorDidNotOpen(LockerError):
    """The lock fired but the door was not seen to open."""

    def __init__(self, compartment: str, help_line: str) -> None:
        message = f"Door {compartment} did not open."
        if help_line:
            message += f" For help: {help_line}"
        super().__init__(message)
        self.compartment = compartment


class DoorUnavailable(LockerError):
    """The parcel's door cannot be opened now (out of service, board offline); no lock
    was fired."""

    def __init__(self, compartment: str, help_line: str) -> None:
        message = f"Door {compartment} cannot be opened right now."
        if help_line:
            message += f" For help: {help_line}"
        super().__init__(message)
        self.compartment = compartment
        self.reason = "door_unavailable"


"""How long after a pickup's door closed its customer may open it again from the screen
(``POST /v1/operations/{id}/again``): a parcel left behind, a second one forgotten. The
compartment is handed out to nobody meanwhile."""


@dataclass
class AgainWindow:
    """A pickup whose door may be opened again: its operation, the token its screen was
    given, and until when (on the kiosk's monotonic clock)."""

    op_id: int
    token: str
    until: float


@dataclass(frozen=True)
class Settings:
    """Knobs tests and the demo may turn; defaults are the product's."""

    wall_clock: Callable[[], float] = time.time
    # Durations (the keypads' lockouts) run on this clock, which no wall-clock step moves.
    monotonic: Callable[[], float] = time.monotonic
    boot_id: str | None = None  # None: this boot's (kiosk.clock.read_boot_id)


class Kiosk:
    def __init__(
        self,
        config: Config,
        store: Store,
        hardware: Hardware,
        key: bytes,
        bus: Bus | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.hw = hardware
        self.key = key
        self.bus = bus or Bus()
        self.settings = settings or Settings()
        self.clock = self.settings.wall_clock
        sec = config.security
        self.sessions = Sessions(sec.session_idle_minutes * 60)
        self.staff_sync = StaffSync(
            config.fleet.enabled, config.fleet.staff_sync_wait_s, lambda: store.staff_version() > 0
        )
        self.keypads = Keypads(store, sec, self.settings.monotonic, self.settings.boot_id)
        self.allocator = Allocator()
        self.guard = MassOpenGuard(
            store, sec.mass_open_max, sec.mass_open_window_s, config.kiosk.operator_contact
        )
        self.notices = Notices(config)
        self.doors = Doors(
            store, hardware, config.doors, self.bus, self._finish_op, self._op_not_opened
        )
        self.started_at = time.monotonic()
        self.start_check = StartItemCheck(store, hardware)
        self._reconciling: set[str] = set()
        # Doors a technician's tool may open without a door operation (discovery, which
        # logs its own fires): their opening is expected, not a forced-open alarm.
        self.expected_open: set[str] = set()
        # The fleet link's status line; the link replaces it when it runs.
        self.fleet_status: Callable[[], dict[str, Any]] = lambda: {"enabled": False, "state": "off"}
        # The API listeners' connections; the daemon replaces it once they serve.
        self.connections_status: Callable[[], dict[str, Any]] = dict
        # The kiosk's clock and its disk (kiosk/clock.py, kiosk/disk.py), when the daemon
        # runs them: their lines in the status.
        self.timekeeper: KioskClock | None = None
        self.disk: DiskWatch | None = None
        store.listeners.append(self._publish_event)
        hardware.door_listeners.append(self._door_changed)
        hardware.health_listeners.append(self._board_health)
        self._offline_alarms: dict[str, asyncio.TimerHandle] = {}  # board -> its alarm, due
        self._again_tokens: dict[int, str] = {}  # a live pickup's operation -> its token
        self._again: dict[str, AgainWindow] = {}  # compartment -> its open window

    # -- start ----------------------------------------------------------------------

    def start(self) -> None:
        """Sync compartments with the config and adopt unfinished operations.

        Call on the loop after the hardware started. No lock is fired here.
        """
        specs = [
            CompartmentSpec(c.id, c.size, c.board, c.lock, c.accessible)
            for c in self.config.compartments
        ]
        try:
            self.store.sync_compartments(specs)
        except StoreFull as exc:
            raise StoreRefused(
                f"the compartments in {self.config.path} changed and the disk holding "
                f"{self.config.kiosk.data_dir} is full: free space on it, then start again"
            ) from exc
        for c in self.config.compartments:
            self.allocator.add(c.id, self.config.size_rank(c.size), c.accessible)
        unfinished = self.store.unfinished_ops()
        for op in unfinished:
            self._reconciling.add(op.compartment_id)
            self.doors.adopt(op)
        self.start_check.begin(c.id for c in self.config.compartments)
        for op in self.store.unconfirmed_deposits():
            # whoever was asked before the restart is signed out: nobody can answer now
            self._unanswered(op.id)
        self.store.log_event(
            EventKind.KIOSK_STARTED, Severity.INFO, None, None, unfinished=len(unfinished)
        )
        self.refresh_all()

    def refresh_all(self) -> None:
        for c in self.config.compartments:
            self._refresh(c.id)

    def refresh(self, cid: str) -> None:
        """Re-read one compartment's state after a change made outside a door operation."""
        self._refresh(cid)

    def _refresh(self, cid: str) -> None:
        """Recompute whether ``cid`` may be handed out."""
        row = self.store.compartment(cid)
        eligible = (
            row.state is CompartmentState.AVAILABLE
            and not row.needs_check
            and not self.start_check.holds(cid)
            and row.held_for is None
            and self.hw.door(cid) is DoorState.CLOSED
            and self.hw.is_board_online(row.board)
            and self.doors.live_for(cid) is None
            and cid not in self._again
        )
        self.allocator.set_eligible(cid, eligible)

    # -- listeners (on the loop) ----------------------------------------------------

    def _publish_event(self, event: Event) -> None:
        self.bus.publish({"type": StreamKind.EVENT, **event.as_dict()})

    def _door_changed(self, cid: str, old: DoorState, new: DoorState) -> None:
        self.bus.publish({"type": StreamKind.DOOR, "compartment": cid, "door": str(new)})
        live = self.doors.live_for(cid)
        unexpected = cid not in self._reconciling and cid not in self.expected_open
        if new is DoorState.OPEN and live is None and unexpected:
            if old is DoorState.CLOSED and self.hw.pulsed_within(
                cid, self.config.doors.open_timeout_s
            ):
                # Our own pulse, late: a reopen that waited for the lock's coil time while
                # the person closed the door. Not a forced door; they close it again.
                self.store.log_event(
                    EventKind.DOOR_OPENED_BY_LATE_PULSE, Severity.WARNING, None, cid
                )
            elif old is DoorState.UNKNOWN:
                self.store.log_event(EventKind.DOOR_FOUND_OPEN, Severity.ALARM, None, cid)
            else:
                self.store.log_event(EventKind.FORCED_OPEN, Severity.ALARM, None, cid)
        elif new is DoorState.CLOSED and live is None and old is DoorState.OPEN:
            self.store.log_event(EventKind.DOOR_CLOSED, Severity.INFO, None, cid, operation=None)
        if new is not DoorState.UNKNOWN:
            self._reconciling.discard(cid)
            self.start_check.reading(cid, busy=live is not None)
        self._refresh(cid)

    def _board_health(self, board: str, online: bool, error: str | None) -> None:
        """A board went offline or came back. Its doors are UNKNOWN and its compartments
        not handed out from the moment it is offline (the hardware and the allocator see
        to that); the event log gets a warning at once and an alarm only if the board
        stays offline past ``[doors] offline_alarm_after_s``: a blip (a busy host, a
        moment's noise) is an event, a board that stays silent is the operator's."""
        alarm = self._offline_alarms.pop(board, None)
        if alarm is not None:
            alarm.cancel()
        if online:
            self.store.log_event(EventKind.BOARD_ONLINE, Severity.INFO, None, None, board=board)
        else:
            self.store.log_event(
                EventKind.BOARD_OFFLINE, Severity.WARNING, None, None, board=board, error=error
            )
            grace = self.config.doors.offline_alarm_after_s
            loop = asyncio.get_running_loop()
            self._offline_alarms[board] = loop.call_later(grace, self._still_offline, board)
        message = {"type": StreamKind.BOARD, "board": board, "online": online, "error": error}
        self.bus.publish(message)

    def _still_offline(self, board: str) -> None:
        """The grace time of an offline board is over: the alarm, if it is still offline."""
        self._offline_alarms.pop(board, None)
        if self.hw.is_board_online(board):
            return
        error = self.hw.boards[board].error
        grace = self.config.doors.offline_alarm_after_s
        self.store.log_event(EventKind.BOARD_STILL_OFFLINE, Severity.ALARM, None, None, board=board,
                             error=error, offline_s=grace)  # fmt: skip
        self.refresh_all()

    # -- customer -------------------------------------------------------------------

    async def pickup(self, code_text: str) -> DoorOutcome:
        """Open the door of the parcel whose pickup code this is."""
        if self.store.is_full:  # no door could be opened: the code is not even looked at
            raise StoreFull(
                "The kiosk cannot open doors right now: its storage is full."
                + (f" For help: {self.config.kiosk.operator_contact}"
                   if self.config.kiosk.operator_contact else "")
            )  # fmt: skip
        self.keypads.check("code")
        code = codes.normalize_code(code_text, self.config.policy.pickup_code_digits)
        parcel = self.store.parcel_by_code_tag(codes.code_tag(self.key, code))
        if parcel is None:
            self.keypads.fail("code", EventKind.WRONG_CODE)
            wait = self.keypads.retry_after("code")
            if wait > 0:  # this very code started the lockout: say so now
                raise WrongCodeLockedOut(
                    "Too many wrong codes were tried here. The kiosk accepts codes again in "
                    f"{math.ceil(wait)} seconds.",
                    wait,
                )
            raise AuthError("That code is not right. Please check it and try again.")
        # Only a code that opens a door ends a run of wrong codes: a code of a parcel
        # that is gone must not let anyone reset the throttle at will.
        if parcel.state is ParcelState.STORED:
            self.keypads.succeed("code")
        if parcel.state is ParcelState.EXPIRED:
            raise ConflictError(
                "The pickup time for this parcel has ended; it is going back to the sender.",
                "expired",
            )
        if parcel.state is ParcelState.RETURNED:
            raise ConflictError("This parcel has been returned to the sender.", "returned")
        if parcel.state is ParcelState.PICKED_UP:
            raise ConflictError("This parcel has already been picked up.", "picked_up")
        assert parcel.compartment_id is not None
        cid = parcel.compartment_id
        row = self.store.compartment(cid)
        # A board that does not answer cannot fire the lock: trying would only record
        # OPEN_NOT_DETECTED and take a sound compartment out of service.
        if row.state is CompartmentState.OUT_OF_SERVICE or not self.hw.is_board_online(row.board):
            why = (
                "out of service"
                if row.state is CompartmentState.OUT_OF_SERVICE
                else "board offline"
            )
            self.store.log_event(
                EventKind.PICKUP_REFUSED, Severity.WARNING, "customer", cid, reason=why
            )
            raise DoorUnavailable(cid, self.config.kiosk.operator_contact)
        op = self.begin_op(cid, Purpose.PICKUP, "customer", parcel_id=parcel.id)
        token = secrets.token_urlsafe(16)
        self._again_tokens[op.id] = token  # the screen's, to open the door again
        try:
            view = await self.open_and_report(op, customer=True)
        except LockerError:
            self._again_tokens.pop(op.id, None)
            raise
        again_s = self.config.doors.reopen_after_pickup_s
        if again_s <= 0:
            return view  # no window: nothing for the screen to open again with
        return dataclasses.replace(view, again_token=token, again_s=again_s)

    async def pickup_again(self, op_id: int, token: str) -> DoorOutcome:
        """Open a pickup's door again within ``doors.reopen_after_pickup_s`` of its closing, for
        the screen that holds the pickup's ``token`` (no code: the customer has just used
        it). Whatever the item sensor says: it may miss a flat parcel."""
        op = self.store.op(op_id)
        cid = op.compartment_id
        window = self._again.get(cid)
        if (
            window is None
            or window.op_id != op_id
            or not hmac.compare_digest(window.token.encode(), token.encode())
            or self.settings.monotonic() >= window.until
        ):
            raise ConflictError("This door can no longer be opened again from here.",
                                "again_over")  # fmt: skip
        if self.doors.live_for(cid) is not None:
            raise ConflictError(f"Door {cid} is open already.", "busy")
        row = self.store.compartment(cid)
        if row.state is CompartmentState.OUT_OF_SERVICE or not self.hw.is_board_online(row.board):
            raise DoorUnavailable(cid, self.config.kiosk.operator_contact)
        again = self.begin_op(cid, Purpose.PICKUP, "customer", parcel_id=op.parcel_id,
                              details={"again": op_id})  # fmt: skip
        return await self.open_and_report(again, customer=True)

    # -- courier --------------------------------------------------------------------

    async def sign_in(
        self, pin: str | None = None, user: str | None = None, badge: str | None = None
    ) -> Session:
        """Sign a courier or technician in: who they are (``user``, or a ``badge``, which
        only names them) and their PIN.

        The try counts towards the sign-in lockout before the PIN is checked
        (:meth:`Keypads.admit`). A name or badge that is nobody's, or a PIN shorter than
        the person's role allows, is checked as long as a wrong PIN and answered alike.
        Someone of the operator's staff list is looked up once the list is the
        network's latest (:class:`~kiosk.access.staff_sync.StaffSync`), and signed in only if a
        list applied while their PIN was checked still has them as they were.
        """
        if not pin or not (user or badge):
            raise InvalidInput("Sign in with your name or badge, and your PIN.")
        pin = pins.validate_pin(pin, self.config.security.shortest_pin_digits)
        named = user.strip() if user else None
        attempt = self.keypads.admit("pin", user=named)
        found = await self._signing_in(named, badge)
        matches = await asyncio.to_thread(self._pin_matches, found, pin)
        if not matches or found is None or not self._still_in_force(found):
            who = found.name if badge and found else named
            self.keypads.wrong(
                "pin", attempt, EventKind.SIGN_IN_FAILED, user=who, badge=bool(badge)
            )
            raise AuthError("Sign-in failed: name, badge or PIN not recognised.")
        self.keypads.right("pin", attempt)
        self.store.log_event(
            EventKind.SIGNED_IN,
            Severity.INFO,
            found.name,
            None,
            role=str(found.role),
            source=found.source,
        )
        return self.sessions.create(found.name, found.role, found.source)

    async def _signing_in(self, named: str | None, badge: str | None) -> UserRow | None:
        """Who a sign-in names: a local user at once; anyone else once the staff list
        is the network's latest."""
        found = self._person(named, badge)
        if found is None or found.source == "central":
            await self.staff_sync.ready()
            found = self._person(named, badge)
        return found

    def _person(self, named: str | None, badge: str | None) -> UserRow | None:
        if badge:
            return self.store.person_by_badge(pins.badge_tag(self.key, badge.strip()))
        return self.store.person_by_name(named or "")

    def _still_in_force(self, found: UserRow) -> bool:
        now = self.store.person_by_name(found.name)
        return now is not None and (now.source, now.role, now.pin_hash) == (
            found.source,
            found.role,
            found.pin_hash,
        )

    def _pin_matches(self, found: UserRow | None, pin: str) -> bool:
        """On a worker thread: scrypt takes tens of milliseconds."""
        if found is None or found.pin_hash is None:
            return pins.verify_nobody(pin)
        if len(pin) < self.config.security.pin_digits(found.role):
            return pins.verify_nobody(pin)
        return pins.verify_pin(pin, found.pin_hash)

    def end_sessions_of(self, names: Sequence[str]) -> int:
        """The staff list no longer has ``names`` as they were (revoked, moved off this
        kiosk, a new PIN or role): their sessions from it end at once."""
        return self.sessions.end_for(names, "central")

    def sign_out(self, token: str | None) -> None:
        self.sessions.end(token)

    def session(self, token: str | None, *roles: Role) -> Session:
        return self.sessions.get(token, *roles)

    # -- shared by every purpose ----------------------------------------------------

    def begin_op(
        self,
        cid: str,
        purpose: Purpose,
        actor: str | None,
        parcel_id: int | None = None,
        details: dict[str, Any] | None = None,
        *,
        technician: bool = False,
        bulk: bool = False,
    ) -> OpRow:
        """Commit the intent to open ``cid``, past the mass-open guard.

        ``bulk``: one door of a technician's open-all or self-test, which the guard
        neither counts nor stops. Raises :class:`~kiosk.doors.guard.OpensPaused`.
        """
        if not bulk:
            self.guard.admit(cid, str(purpose), actor, technician)
        else:
            details = {**(details or {}), "bulk": True}  # not counted again after a restart
        op = self.store.begin_op(cid, purpose, actor, parcel_id, details)
        if not bulk:
            self.guard.opened()
        return op

    async def open_and_report(self, op: OpRow, customer: bool) -> DoorOutcome:
        live = self.doors.start(op)
        self._refresh(op.compartment_id)
        opened = await asyncio.shield(live.opened)
        view = self.outcome(self.store.op(op.id))
        if not opened and customer:
            self.store.log_event(
                EventKind.CUSTOMER_NEEDS_HELP,
                Severity.ALARM,
                None,
                op.compartment_id,
                operation=op.id,
            )
            raise DoorDidNotOpen(op.compartment_id, self.config.kiosk.operator_contact)
        return view

    def _finish_op(self, op: OpRow) -> None:
        """A live operation's door closed: finish it in one transaction (tried again
        as a whole while the disk is full)."""
        with self.store.transaction():
            self._finish_in_store(op)
        cid = op.compartment_id
        if self.store.op(op.id).details.get("confirm") == "asked":
            self._await_answer(op.id)
        if op.purpose is Purpose.PICKUP:
            self._pickup_closed(op)
        self.bus.publish({"type": StreamKind.OPERATION, "kind": OpStep.CLOSED, "operation": op.id,
                          "compartment": cid, "purpose": str(op.purpose)})  # fmt: skip
        asyncio.get_running_loop().call_soon(self._after_operation, cid)

    def _finish_in_store(self, op: OpRow) -> None:
        cid = op.compartment_id
        check = self._item_check(op)
        if check is not None:
            op = self.store.update_details(op.id, item_check=check)
            self.store.log_event(
                item_check_kind(check),
                Severity.WARNING,
                op.actor,
                cid,
                operation=op.id,
                purpose=str(op.purpose),
            )
        if op.purpose is Purpose.DEPOSIT and op.details.get("unused"):
            self.store.finish_unused_deposit(op.id, op.details["unused"])
            if self.hw.item(cid):  # a cancelled deposit with something left inside
                self._flag_unexpected(cid, "deposit")
        elif op.purpose is Purpose.DEPOSIT and check is ItemCheck.EMPTY:
            self.store.ask_deposit(op.id)  # stored once the courier says it is inside
        elif op.purpose is Purpose.DEPOSIT:
            self._store_deposit(op)
        elif op.purpose is Purpose.PICKUP and op.details.get("again"):
            self.store.finish_plain(op.id)  # the parcel left at the first closing
        elif op.purpose in (Purpose.PICKUP, Purpose.RETURN):
            self.store.finish_removal(op.id)
            if op.purpose is Purpose.RETURN and check is ItemCheck.STILL_INSIDE:
                self._flag_unexpected(cid, "return")
        else:
            self.store.finish_plain(op.id)

    def _flag_unexpected(self, cid: str, after: str) -> None:
        """The item sensor sees something where the store now records no parcel: the
        compartment is handed out to nobody until a person has checked it."""
        self.start_check.flag(cid, CheckReason.ITEM_UNEXPECTED, item=True, after=after)

    def _pickup_closed(self, op: OpRow) -> None:
        """A pickup's door closed: its window to open it again starts (the first closing),
        or the compartment is settled (a reopening closed after the window ended)."""
        cid = op.compartment_id
        token = self._again_tokens.pop(op.id, None)
        again_s = self.config.doors.reopen_after_pickup_s
        if token is not None and again_s > 0:
            until = self.settings.monotonic() + again_s
            self._again[cid] = AgainWindow(op.id, token, until)
            asyncio.get_running_loop().call_later(again_s, self._again_over, cid, op.id)
        elif token is not None or (op.details.get("again") and cid not in self._again):
            self._settle_after_pickup(cid)  # no window (0 s), or a reopening's closing

    def _again_over(self, cid: str, op_id: int) -> None:
        window = self._again.get(cid)
        if window is None or window.op_id != op_id:
            return
        del self._again[cid]
        if self.doors.live_for(cid) is None:  # else settled once that door closes
            self._settle_after_pickup(cid)
        self._refresh(cid)

    def _settle_after_pickup(self, cid: str) -> None:
        """The pickup and any reopening are over: a parcel the item sensor still sees
        where none is recorded flags the compartment for a check."""
        if self.hw.item(cid) and self.store.parcel_in(cid) is None:
            self._flag_unexpected(cid, "pickup")

    def _store_deposit(self, op: OpRow) -> None:
        """The parcel is stored: its code issued and the recipient's notice queued."""
        tag, nonce = self._issue_code()
        expires_at = self.clock() + self.config.policy.hold_hours * 3600
        self.store.finish_deposit(
            op.id, tag, expires_at, lambda pid: self.notices.stored(pid, op, nonce, expires_at)
        )

    def confirm_deposit(self, op: OpRow) -> OpRow:
        """The courier says the parcel is inside a compartment whose item sensor saw
        nothing: it is stored and the recipient notified, and the compartment is flagged
        for a check, as the sensor and the store disagree."""
        with self.store.transaction():
            op = self.store.update_details(op.id, confirm="stored")
            self._store_deposit(op)
            parcel = self.store.parcel_in(op.compartment_id)
            if self.hw.item(op.compartment_id) is False and parcel is not None:
                self.start_check.flag(op.compartment_id, CheckReason.ITEM_MISSING, item=False,
                                      parcel=parcel.id, barcode=parcel.barcode,
                                      after="deposit")  # fmt: skip
        self._refresh(op.compartment_id)
        return self.store.op(op.id)

    def _await_answer(self, op_id: int) -> None:
        """A deposit asks its courier whether the parcel is inside: unanswered by the time
        the touchscreen gives up on them (its idle time-out and "Need more time?"), it
        stays unstored and its compartment is flagged for a person to check."""
        wait = self.config.ui.idle_timeout_s + self.config.ui.more_time_s
        asyncio.get_running_loop().call_later(wait, self._unanswered, op_id)

    def _unanswered(self, op_id: int) -> None:
        op = self.store.op(op_id)
        if op.details.get("confirm") != "asked":
            return  # answered meanwhile
        try:
            with self.store.transaction():
                self.store.update_details(op_id, confirm="unanswered")
                barcode = op.details.get("barcode")
                self.store.flag_for_check(op.compartment_id, CheckReason.DEPOSIT_UNCONFIRMED,
                                          operation=op_id, barcode=barcode)  # fmt: skip
        except StoreError as exc:
            log.error("deposit %s: unanswered, not recorded yet: %s", op_id, exc)
            asyncio.get_running_loop().call_later(FINISH_RETRY_S, self._unanswered, op_id)
            return
        self._refresh(op.compartment_id)

    def _item_check(self, op: OpRow) -> ItemCheck | None:
        """What the item sensor says about a door that just closed, if it disagrees:
        a parcel still inside after a pickup or return, nothing inside after a deposit."""
        item = self.hw.item(op.compartment_id)
        if item is None:
            return None  # no item sensor on this board
        if op.purpose in (Purpose.PICKUP, Purpose.RETURN) and item:
            return ItemCheck.STILL_INSIDE
        if op.purpose is Purpose.DEPOSIT and not op.details.get("unused") and not item:
            return ItemCheck.EMPTY
        return None

    def _op_not_opened(self, op: OpRow) -> None:
        asyncio.get_running_loop().call_soon(self._after_operation, op.compartment_id)

    def _after_operation(self, cid: str) -> None:
        """An operation on ``cid`` ended: compare its item sensor if the start has not
        yet (:mod:`kiosk.doors.checks`), then whether it may be handed out."""
        if self.hw.door(cid) is not DoorState.UNKNOWN:
            self.start_check.reading(cid, busy=self.doors.live_for(cid) is not None)
        self._refresh(cid)

    def _issue_code(self) -> tuple[str, str]:
        """A fresh code's tag and the nonce it derives from (the code itself is not kept)."""
        digits = self.config.policy.pickup_code_digits
        issued = codes.new_code(self.key, digits, self.store.is_code_tag_live)
        return issued.tag, issued.nonce

    async def wait_operation(self, op_id: int, timeout: float) -> DoorOutcome:
        live = self.doors.live.get(op_id)
        if live is not None:
            done = asyncio.shield(live.done)
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(done, timeout)
        return self.outcome(self.store.op(op_id))

    def outcome(self, op: OpRow) -> DoorOutcome:
        """What operation ``op`` has come to, with the door as it is now."""
        cid = op.compartment_id
        item_check = op.details.get("item_check") or None
        return DoorOutcome(
            operation=op.id,
            compartment=cid,
            purpose=op.purpose,
            status=op.status,
            door=self.hw.door(cid),
            live=op.id in self.doors.live,
            message=self.notices.op_message(op),
            parcel=op.parcel_id,
            unused=op.details.get("unused") or None,
            problem=op.details.get("problem") or None,
            item_check=item_check,
            notice=self.notices.item_notice(op) if item_check else None,
            confirm=op.details.get("confirm") or None,
        )

    # -- queries --------------------------------------------------------------------

    def compartments_view(self) -> list[dict[str, Any]]:
        out = []
        parcels = self.store.live_parcels()
        for row in self.store.compartments():
            live = self.doors.live_for(row.id)
            parcel = parcels.get(row.id)
            out.append(
                {
                    "id": row.id,
                    "size": row.size,
                    "board": row.board,
                    "lock": row.lock,
                    "accessible": row.accessible,
                    "state": str(row.state),
                    "reason": row.oos_reason,
                    **reason_codes(row.out_of_service),
                    "door": str(self.hw.door(row.id)),
                    "item": self.hw.item(row.id),
                    "board_online": self.hw.is_board_online(row.board),
                    "held_for": row.held_for,
                    **check_view(row.check_reason, row.check_detail, row.check_since),
                    "operation": live.op_id if live else None,
                    "parcel": parcel_summary(parcel) if parcel else None,
                }
            )
        return out

    def free_by_size(self) -> dict[str, int]:
        counts = self.allocator.free_counts()
        return {name: counts.get(i, 0) for i, name in enumerate(self.config.size_names())}

    def info(self) -> dict[str, Any]:
        cfg = self.config
        return {
            "id": cfg.kiosk.id,
            "name": cfg.kiosk.name,
            "operator_contact": cfg.kiosk.operator_contact,
            "name_by_language": dict(cfg.kiosk.name_by_language),
            "operator_contact_by_language": dict(cfg.kiosk.operator_contact_by_language),
            "languages": list(cfg.kiosk.languages),
            "demo": cfg.demo,
            "pickup_code_digits": cfg.policy.pickup_code_digits,
            "pin_digits": cfg.security.shortest_pin_digits,
            "max_barcode_length": cfg.policy.max_barcode_length,
            "max_extend_hours": cfg.policy.max_extend_hours,
            "sizes": [dataclasses.asdict(s) for s in cfg.sizes],
            "wall": wall_layout(cfg.compartments),
            "ui": dataclasses.asdict(cfg.ui),
            "door_answer_s": door_answer_s(cfg),
        }

    def live_ops(self) -> list[LiveOp]:
        return list(self.doors.live.values())

    def uptime_s(self) -> float:
        return time.monotonic() - self.started_at


def door_answer_s(cfg: Config) -> float:
    """The longest a request that opens one door takes to answer from its timings: each
    fire (the first and every retry) with its pulse, the gap after it and the wait for
    the door to be seen open. A front end waits this long, and more, before it gives up
    on the answer: a jammed door is answered as one, not as a silent kiosk."""
    per_fire = (cfg.locks.pulse_ms + cfg.locks.gap_ms) / 1000 + cfg.doors.open_timeout_s
    return round((1 + cfg.doors.open_retries) * per_fire, 1)


def parcel_summary(parcel: ParcelRow) -> dict[str, Any]:
    """What a technician sees of the parcel in a compartment (no contact, no code)."""
    return {"barcode": parcel.barcode, "state": str(parcel.state),
            "expires_at": parcel.expires_at, "extended_hours": parcel.extended_hours}  # fmt: skip


def wall_layout(compartments: Sequence[CompartmentConfig]) -> list[dict[str, Any]]:
    """Where each door sits on the wall picture: its configured column and row, or one
    column per id letter (A01, A02 ... in column A), in id order from the top."""
    letters: list[str] = []
    rows: dict[str, int] = {}
    out = []
    for c in compartments:
        letter = c.id.rstrip("0123456789") or "A"
        if letter not in letters:
            letters.append(letter)
        rows[letter] = rows.get(letter, 0) + 1
        out.append({"id": c.id, "size": c.size, "accessible": c.accessible,
                    "column": c.column or letters.index(letter) + 1,
                    "row": c.row or rows[letter]})  # fmt: skip
    return out
