"""Announcements: the parcels the operator's network says are coming, and reservations.

An announcement is a signed message on the ``announcements`` topic (``announce``, or
``cancel`` to withdraw one), checked at the gate like a command, so only the operator's
key decides who a parcel's code goes to. Each carries a ``version``; the kiosk applies
one above its cursor once, in one transaction with the cursor, and refuses one at or
below it as ``stale`` (a later announcement came first). A copy of one it has (a broker's
re-delivery, the operator sending it again after an outage) is answered as a replay.
An announcement the kiosk refuses for its content (an unknown size, a parcel already
inside) still moves the cursor: sending it again would not help.

Reservations (``reserve``) hold at most ``fleet.max_held_share`` of the compartments,
each for at most a week.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kiosk.errors import InvalidInput, LockerError
from kiosk.fleet import report
from kiosk.fleet.channels import ANNOUNCEMENTS
from kiosk.fleet.envelope import Command, CommandRefused, text_arg, version_of
from kiosk.fleet.gate import Gate
from kiosk.fleet.payloads import Announced, Outcome, Refused, Result
from kiosk.protocol.events import EventKind, Severity
from kiosk.store.fleet import ANNOUNCEMENTS_CURSOR, FleetCommandRow

if TYPE_CHECKING:
    from kiosk.core import Kiosk
    from kiosk.courier import Courier

DEFAULT_RESERVE_HOURS = 24.0
MAX_RESERVE_HOURS = 168.0


class Announcements:
    def __init__(self, kiosk: Kiosk, courier: Courier, gate: Gate) -> None:
        self.kiosk, self.courier, self.gate, self.store = kiosk, courier, gate, kiosk.store
        self.kiosk_id = kiosk.config.kiosk.id

    def handle(self, raw: bytes) -> Result:
        """The answer to one message on the announcements topic."""
        try:
            admitted = self.gate.admit(raw, ANNOUNCEMENTS)
        except CommandRefused as exc:
            return self.gate.refuse(
                EventKind.ANNOUNCEMENT_REFUSED, raw, exc, topic=ANNOUNCEMENTS.leaf
            )
        cmd = admitted.command
        if admitted.seen is not None:
            return self._replay(cmd, admitted.seen)
        try:
            version = self._version(cmd)
        except CommandRefused as exc:
            return self._refuse(cmd, exc.reason, str(exc), None)
        try:
            with self.store.transaction():
                message, details = self._apply(cmd, version)
                self.store.set_meta(ANNOUNCEMENTS_CURSOR, str(version))
                self._record(cmd, True, None, message, details, version)
        except LockerError as exc:
            return self._refuse(cmd, "refused", str(exc), version)
        if details["held"] is not None:
            self.kiosk.refresh(details["held"])
        if cmd.command == "cancel":
            self.kiosk.refresh_all()  # what was held for it is free again
        return self._answer(cmd, True, None, message, details)

    def _version(self, cmd: Command) -> int:
        if cmd.command not in ANNOUNCEMENTS.names:
            raise CommandRefused(
                "unknown_command",
                f"{cmd.command[:32]!r} is not an announcement (announce or cancel)",
            )
        version = version_of(cmd)
        cursor = self.store.meta_int(ANNOUNCEMENTS_CURSOR)
        if version <= cursor:
            raise CommandRefused(
                "stale",
                f"version {version} is not above the kiosk's cursor {cursor}: a later "
                "announcement was applied first; send it again with a new version",
            )
        return version

    def _apply(self, cmd: Command, version: int) -> tuple[str, Announced]:
        actor, args = f"fleet:{cmd.kid}", cmd.args
        held: str | None = None
        if cmd.command == "cancel":
            parcel = self.store.cancel_announcement(text_arg(args, "barcode"), actor)
            message = f"Announcement of {parcel.barcode} cancelled."
        else:
            reserve, hours = _reservation(args)
            parcel = self.courier.announce_as(
                actor,
                text_arg(args, "barcode"),
                text_arg(args, "size"),
                _optional(args, "phone"),
                _optional(args, "email"),
            )
            message = f"Parcel {parcel.barcode} announced."
            if reserve:
                held, said = self.courier.hold_for(parcel, hours, actor)
                message += " " + said
        return message, Announced(
            barcode=parcel.barcode, parcel=parcel.id, version=version, held=held
        )

    def _refuse(self, cmd: Command, reason: str, message: str, version: int | None) -> Result:
        """A signed announcement refused: recorded (a copy gets this answer again) with
        its event; with ``version``, the cursor moves past it in the same transaction."""
        with self.store.transaction():
            if version is not None:
                self.store.set_meta(ANNOUNCEMENTS_CURSOR, str(version))
            self._record(cmd, False, reason, message, Refused(), version)
            self.store.log_event(
                EventKind.ANNOUNCEMENT_REFUSED,
                Severity.WARNING,
                f"fleet:{cmd.kid}",
                None,
                command_id=cmd.id,
                version=version,
                reason=reason,
                message=message,
            )
        return self._answer(cmd, False, reason, message, Refused())

    def _record(
        self,
        cmd: Command,
        ok: bool,
        reason: str | None,
        message: str,
        details: Announced | Refused,
        version: int | None,
    ) -> None:
        # The recipient's phone and e-mail stay in the parcel's row alone, not here too.
        kept = {k: cmd.args.get(k) for k in ("barcode", "size", "reserve")}
        self.store.record_fleet_command(
            cmd.id,
            cmd.kid,
            cmd.command,
            {**kept, "version": version},
            ok,
            reason,
            {"message": message, "result": details},
            event=False,
        )

    def _replay(self, cmd: Command, seen: FleetCommandRow) -> Result:
        return report.result(
            self.kiosk_id,
            cmd.id,
            seen.command,
            seen.ok,
            seen.reason,
            seen.result.get("message", ""),
            seen.result.get("result", {}),
            replayed=True,
        )

    def _answer(
        self, cmd: Command, ok: bool, reason: str | None, message: str, details: Outcome
    ) -> Result:
        return report.result(self.kiosk_id, cmd.id, cmd.command, ok, reason, message, details)


def _reservation(args: dict[str, Any]) -> tuple[bool, float]:
    """``reserve`` (hold a compartment for the parcel) and for how many hours."""
    reserve = args.get("reserve", False)
    hours = args.get("reserve_hours", DEFAULT_RESERVE_HOURS)
    if not isinstance(reserve, bool):
        raise InvalidInput("reserve must be true or false")
    if (
        isinstance(hours, bool)
        or not isinstance(hours, int | float)
        or not (0 < hours <= MAX_RESERVE_HOURS)
    ):
        raise InvalidInput("reserve_hours must be a number of hours above 0, at most 168")
    return reserve, float(hours)


def _optional(args: dict[str, Any], name: str) -> str | None:
    value = args.get(name)
    return value if isinstance(value, str) and value else None
