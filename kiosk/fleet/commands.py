"""What the kiosk does with a message from its network: commands, announcements, config.

Every message passes the gate first (:mod:`kiosk.fleet.gate`): a signed envelope, for
this kiosk, within its topic's lifetime. :class:`Commands` is what the link hands them
to, by topic; announcements are :mod:`kiosk.fleet.announcements`', desired config
:mod:`kiosk.fleet.settings`' and staff lists :mod:`kiosk.fleet.staff`'.

A **command** is acted on in one transaction with its record: the kiosk looks for the
command id among those it has seen (a replay gets the first result, with ``replayed``,
and nothing is done again), acts, and records the command with its result, so a power
cut leaves the action and its record together or neither. An envelope that does not
check out is refused with its reason and an event, but not recorded: its id is not to
be trusted, and recording it could make a real command with that id look like a replay.

Remote opens are capped per hour (``fleet.remote_opens_per_hour``), and resend requests
too (:data:`RESENDS_PER_HOUR`), on the monotonic clock (:mod:`kiosk.fleet.window`); the
mass-open guard counts remote opens like any other. ``open_all`` is never accepted from
the network, and the remote self-test opens nothing: it reads boards and sensors.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kiosk.domain import OpStatus, Purpose
from kiosk.doors.guard import OpensPaused
from kiosk.errors import InvalidInput, LockerError
from kiosk.fleet import report
from kiosk.fleet.announcements import Announcements
from kiosk.fleet.channels import COMMANDS
from kiosk.fleet.envelope import Command, CommandRefused, Keyring, text_arg
from kiosk.fleet.gate import Gate
from kiosk.fleet.payloads import (
    AnnouncementCancelled,
    DoorOpened,
    HoldExtended,
    Outcome,
    Refused,
    ReportedConfig,
    Resending,
    Result,
    ServiceChanged,
)
from kiosk.fleet.settings import DesiredSettings, Reply
from kiosk.fleet.staff import StaffLists
from kiosk.fleet.window import HourlyCap
from kiosk.protocol.events import EventKind, Severity
from kiosk.reasons import OosReason, OutOfService
from kiosk.store.fleet import FleetCommandRow

if TYPE_CHECKING:
    from kiosk.core import Kiosk
    from kiosk.courier import Courier
    from kiosk.technician import Technician

log = logging.getLogger("kiosk.fleet")

NEVER_REMOTE = ("open_all", "open-all", "openall")
RESENDS_PER_HOUR = 12
REMOTE_OPENS = "fleet.remote_opens"
RESENDS = "fleet.resends"

Action = Callable[[str, dict[str, Any]], tuple[str, Outcome]]


class Commands:
    """Handles what arrives on the kiosk's command, announcement, config and staff topics."""

    def __init__(
        self, kiosk: Kiosk, courier: Courier, technician: Technician, keyring: Keyring
    ) -> None:
        self.kiosk = kiosk
        self.technician = technician
        self.store = kiosk.store
        self.kiosk_id = kiosk.config.kiosk.id
        self.clock: Callable[[], float] = time.time
        self.gate = Gate(keyring, self.kiosk_id, self.store, clock=lambda: self.clock())
        self.opens = HourlyCap(self.store, REMOTE_OPENS)
        self.resends = HourlyCap(self.store, RESENDS)
        self.on_resend: Callable[[int], None] | None = None  # the link's, when it runs
        self.announcements = Announcements(kiosk, courier, self.gate)
        self.settings = DesiredSettings(kiosk, self.gate)
        self.staff = StaffLists(kiosk, self.gate)

    @property
    def opens_per_hour(self) -> int:
        return self.kiosk.config.fleet.remote_opens_per_hour

    # -- by topic -------------------------------------------------------------------

    def announcement(self, raw: bytes) -> Result:
        """The answer to a message on the announcements topic."""
        return self.announcements.handle(raw)

    def desired(self, raw: bytes) -> Reply:
        """The answer and the reported config for a message on config/desired."""
        return self.settings.handle(raw)

    def reported(self) -> ReportedConfig:
        return self.settings.reported()

    def staff_list(self, raw: bytes) -> Result | None:
        """The answer to a message on the staff topic (``None``: nothing to say)."""
        return self.staff.handle(raw)

    async def command(self, raw: bytes) -> Result:
        """The result message for one command envelope (see docs/fleet.md)."""
        try:
            admitted = self.gate.admit(raw, COMMANDS)
        except CommandRefused as exc:
            return self.gate.refuse(EventKind.REMOTE_COMMAND_REFUSED, raw, exc)
        cmd = admitted.command
        if admitted.seen is not None:
            return self._replay(cmd, admitted.seen)
        if cmd.command == "open":
            return await self._open(cmd)
        actions: dict[str, Action] = {
            "out_of_service": self._out_of_service,
            "in_service": self._in_service,
            "extend": self._extend,
            "cancel_announcement": self._cancel_announcement,
            "selftest": self._selftest,
            "resend_events": self._resend_events,
        }
        action = actions.get(cmd.command)
        try:
            if cmd.command in NEVER_REMOTE:
                raise CommandRefused(
                    "never_remote", "opening every door is never accepted remotely"
                )
            if action is None:
                raise CommandRefused(
                    "unknown_command", f"this kiosk has no command {cmd.command[:32]!r}"
                )
            with self.store.transaction():
                message, result = action(f"fleet:{cmd.kid}", cmd.args)
                self._record(cmd, True, None, message, result)
        except LockerError as exc:
            return self._refuse(cmd, exc)
        for cid in _compartments(cmd.args):
            self.kiosk.refresh(cid)
        return self._result(cmd.id, cmd.command, True, None, message, result)

    def _replay(self, cmd: Command, seen: FleetCommandRow) -> Result:
        self.gate.note(
            EventKind.REMOTE_COMMAND_REPLAYED,
            Severity.WARNING,
            command_id=cmd.id,
            command=cmd.command,
            kid=cmd.kid,
        )
        return self._result(
            cmd.id,
            seen.command,
            seen.ok,
            seen.reason,
            seen.result.get("message", ""),
            seen.result.get("result", {}),
            replayed=True,
        )

    async def _open(self, cmd: Command) -> Result:
        k = self.kiosk
        actor = f"fleet:{cmd.kid}"
        try:
            cid = text_arg(cmd.args, "compartment")
            k.store.compartment(cid)
            if self.opens.count() >= self.opens_per_hour:
                raise CommandRefused(
                    "hourly_cap",
                    f"this kiosk accepts at most {self.opens_per_hour} remote opens an hour",
                )
            with self.store.transaction():
                op = k.begin_op(cid, Purpose.TECHNICIAN, actor, technician=False)
                self.opens.take()
                result = DoorOpened(compartment=cid, operation=op.id, status="UNLOCK_SENT")
                self._record(cmd, True, None, f"Door {cid} is being unlocked.", result)
        except OpensPaused as exc:
            return self._refuse(cmd, CommandRefused("guard_tripped", str(exc)))
        except LockerError as exc:
            return self._refuse(cmd, exc)
        view = await k.open_and_report(op, customer=False)
        opened = view.status not in (OpStatus.OPEN_NOT_DETECTED, OpStatus.UNLOCK_SENT)
        message = f"Door {cid} opened." if opened else f"Door {cid} did not open."
        result = DoorOpened(compartment=cid, operation=op.id, status=str(view.status))
        self.store.update_fleet_result(cmd.id, opened, {"message": message, "result": result})
        return self._result(
            cmd.id, cmd.command, opened, None if opened else "refused", message, result
        )

    def _out_of_service(self, actor: str, args: dict[str, Any]) -> tuple[str, Outcome]:
        cid = text_arg(args, "compartment")
        words = str(args.get("reason") or "")[:200]
        why = OutOfService.typed(words) if words else OutOfService(OosReason.REMOTE)
        row = self.store.set_out_of_service(cid, why, actor)
        return f"Compartment {cid} is out of service.", ServiceChanged(
            compartment=cid, state=str(row.state)
        )

    def _in_service(self, actor: str, args: dict[str, Any]) -> tuple[str, Outcome]:
        cid = text_arg(args, "compartment")
        row = self.store.set_in_service(cid, actor)
        return f"Compartment {cid} is back in service.", ServiceChanged(
            compartment=cid, state=str(row.state)
        )

    def _extend(self, actor: str, args: dict[str, Any]) -> tuple[str, Outcome]:
        barcode = text_arg(args, "barcode")
        hours = args.get("hours")
        if isinstance(hours, bool) or not isinstance(hours, int | float):
            raise InvalidInput("hours must be a number")
        parcel = self.technician.extend_hold(barcode, float(hours), actor)
        return (
            f"Parcel {barcode} is held {hours:g} h longer.",
            HoldExtended(
                barcode=barcode,
                expires_at=parcel.expires_at,
                extended_hours=parcel.extended_hours,
            ),
        )

    def _cancel_announcement(self, actor: str, args: dict[str, Any]) -> tuple[str, Outcome]:
        barcode = text_arg(args, "barcode")
        parcel = self.store.cancel_announcement(barcode, actor)
        asyncio.get_running_loop().call_soon(self.kiosk.refresh_all)  # after the commit
        return f"Announcement of {barcode} cancelled.", AnnouncementCancelled(
            barcode=barcode, parcel=parcel.id
        )

    def _resend_events(self, actor: str, args: dict[str, Any]) -> tuple[str, Outcome]:
        """A consumer found a gap in this kiosk's seq (a broker dropped what it had
        acknowledged): send the event log again from ``from_seq``. Opens nothing."""
        first = args.get("from_seq")
        if isinstance(first, bool) or not isinstance(first, int) or first < 1:
            raise InvalidInput("from_seq must be a whole number from 1")
        if self.resends.count() >= RESENDS_PER_HOUR:
            raise CommandRefused(
                "hourly_cap", f"this kiosk accepts at most {RESENDS_PER_HOUR} resends an hour"
            )
        self.resends.take()
        last = self.store.last_event_seq()
        if self.on_resend is not None:
            self.on_resend(first)
        return (
            f"Events {first} to {last} are being sent again.",
            Resending(from_seq=first, last_seq=last),
        )

    def _selftest(self, actor: str, args: dict[str, Any]) -> tuple[str, Outcome]:
        result = report.selftest(self.kiosk)
        n = len(result["problems"])
        message = "Self-test passed." if not n else f"Self-test found {n} problem(s)."
        return message + " (No door was opened.)", result

    def _record(
        self, cmd: Command, ok: bool, reason: str | None, message: str, result: Outcome
    ) -> None:
        self.store.record_fleet_command(
            cmd.id,
            cmd.kid,
            cmd.command,
            cmd.args,
            ok,
            reason,
            {"message": message, "result": result},
        )

    def _refuse(self, cmd: Command, exc: LockerError) -> Result:
        reason = exc.reason if isinstance(exc, CommandRefused) else "refused"
        self._record(cmd, False, reason, str(exc), Refused())
        return self._result(cmd.id, cmd.command, False, reason, str(exc), Refused())

    def _result(
        self,
        cid: str | None,
        command: str | None,
        ok: bool,
        reason: str | None,
        message: str,
        result: Outcome,
        replayed: bool = False,
    ) -> Result:
        return report.result(self.kiosk_id, cid, command, ok, reason, message, result, replayed)


def _compartments(args: dict[str, Any]) -> list[str]:
    cid = args.get("compartment")
    return [cid] if isinstance(cid, str) else []
