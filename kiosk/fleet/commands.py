"""What the kiosk does with a message from its network: commands, announcements, config.

A **command** is acted on only if its envelope checks out (:mod:`kiosk.fleet.envelope`).
Then, in one transaction, the kiosk looks for the command id among those it has seen
(a replay gets the first result, with ``replayed``, and nothing is done again), acts,
and records the command with its result: a power cut leaves the action and its record
together or neither. An envelope that does not check out is refused with its reason and
an event, but not recorded: its id is not to be trusted, and recording it could make a
real command with that id look like a replay.

Remote opens are capped per hour (``fleet.remote_opens_per_hour``) on top of the
mass-open guard, which counts them like any other open. ``open_all`` is never accepted
from the network, and the remote self-test opens nothing: it reads boards and sensors.

An **announcement** is not signed (it cannot open a door; see docs/security.md). Each has
a version: one above the kiosk's cursor is applied once and moves the cursor, one at or
below it is a re-send and changes nothing.

**Desired config** may set only :data:`SETTABLE`; the applied settings are kept in the
store and put back in force at every start.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kiosk.domain import Purpose
from kiosk.errors import InvalidInput, LockerError
from kiosk.fleet import report
from kiosk.fleet.envelope import Command, CommandRefused, Keyring, verify
from kiosk.guard import OpensPaused
from kiosk.reasons import OOS_TEXTS, OosReason
from kiosk.store.fleet import ANNOUNCEMENTS_CURSOR, SETTINGS

if TYPE_CHECKING:
    from kiosk.courier import Courier
    from kiosk.service import Kiosk
    from kiosk.technician import Technician

log = logging.getLogger("kiosk.fleet")

NEVER_REMOTE = ("open_all", "open-all", "openall")
DEFAULT_RESERVE_HOURS = 24.0
SETTABLE: dict[str, tuple[type, float, float]] = {
    "policy.hold_hours": (float, 1.0, 24 * 60.0),
    "policy.max_extend_hours": (float, 0.0, 720.0),
    "fleet.remote_opens_per_hour": (int, 0, 1000),
}


class Refusal(LockerError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


Action = Callable[[str, dict[str, Any]], tuple[str, dict[str, Any]]]


class Commands:
    """Handles what arrives on the kiosk's command, announcement and config topics."""

    def __init__(
        self, kiosk: Kiosk, courier: Courier, technician: Technician, keyring: Keyring
    ) -> None:
        self.kiosk = kiosk
        self.courier = courier
        self.technician = technician
        self.keyring = keyring
        self.store = kiosk.store
        self.kiosk_id = kiosk.config.kiosk.id
        self.clock: Callable[[], float] = time.time
        self.on_resend: Callable[[int], None] | None = None  # the link's, when it runs
        self.apply_settings(self.saved_settings())

    @property
    def opens_per_hour(self) -> int:
        return self.kiosk.config.fleet.remote_opens_per_hour

    # -- commands -------------------------------------------------------------------

    async def command(self, raw: bytes) -> dict[str, Any]:
        """The result message for one command envelope (see docs/fleet.md)."""
        try:
            cmd = verify(raw, self.keyring, self.kiosk_id, now=self.clock())
        except CommandRefused as exc:
            cid, name = _unverified_id(raw)
            self.store.log_event(
                "remote_command_refused",
                "warning",
                "fleet",
                None,
                command_id=cid,
                command=name,
                reason=exc.reason,
                message=str(exc),
            )
            return self._result(cid, name, False, exc.reason, str(exc), {})
        seen = self.store.fleet_command(cmd.id)
        if seen is not None:
            self.store.log_event(
                "remote_command_replayed",
                "warning",
                f"fleet:{cmd.kid}",
                None,
                command_id=cmd.id,
                command=cmd.command,
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
                raise Refusal("never_remote", "opening every door is never accepted remotely")
            if action is None:
                raise Refusal("unknown_command", f"this kiosk has no command {cmd.command!r}")
            with self.store.transaction():
                message, result = action(f"fleet:{cmd.kid}", cmd.args)
                self._record(cmd, True, None, message, result)
        except LockerError as exc:
            return self._refuse(cmd, exc)
        for cid in _compartments(cmd.args):
            self.kiosk.refresh(cid)
        return self._result(cmd.id, cmd.command, True, None, message, result)

    async def _open(self, cmd: Command) -> dict[str, Any]:
        k = self.kiosk
        actor = f"fleet:{cmd.kid}"
        try:
            cid = _text(cmd.args, "compartment")
            k.store.compartment(cid)
            if self.store.remote_opens_since(self.clock() - 3600) >= self.opens_per_hour:
                raise Refusal(
                    "hourly_cap",
                    f"this kiosk accepts at most {self.opens_per_hour} remote opens an hour",
                )
            with self.store.transaction():
                op = k.begin_op(cid, Purpose.TECHNICIAN, actor, technician=False)
                result = {"compartment": cid, "operation": op.id, "status": "UNLOCK_SENT"}
                self._record(cmd, True, None, f"Door {cid} is being unlocked.", result)
        except OpensPaused as exc:
            return self._refuse(cmd, Refusal("guard_tripped", str(exc)))
        except LockerError as exc:
            return self._refuse(cmd, exc)
        view = await k.open_and_report(op, customer=False)
        opened = view["status"] not in ("OPEN_NOT_DETECTED", "UNLOCK_SENT")
        message = f"Door {cid} opened." if opened else f"Door {cid} did not open."
        result = {"compartment": cid, "operation": op.id, "status": view["status"]}
        self.store.update_fleet_result(cmd.id, opened, {"message": message, "result": result})
        return self._result(
            cmd.id, cmd.command, opened, None if opened else "refused", message, result
        )

    def _out_of_service(self, actor: str, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        cid = _text(args, "compartment")
        reason = str(args.get("reason") or OOS_TEXTS[OosReason.REMOTE])[:200]
        row = self.store.set_out_of_service(cid, reason, actor)
        return f"Compartment {cid} is out of service.", {
            "compartment": cid,
            "state": str(row.state),
        }

    def _in_service(self, actor: str, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        cid = _text(args, "compartment")
        row = self.store.set_in_service(cid, actor)
        return f"Compartment {cid} is back in service.", {
            "compartment": cid,
            "state": str(row.state),
        }

    def _extend(self, actor: str, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        barcode = _text(args, "barcode")
        hours = args.get("hours")
        if isinstance(hours, bool) or not isinstance(hours, int | float):
            raise InvalidInput("hours must be a number")
        parcel = self.technician.extend_hold(barcode, float(hours), actor)
        return (
            f"Parcel {barcode} is held {hours:g} h longer.",
            {
                "barcode": barcode,
                "expires_at": parcel.expires_at,
                "extended_hours": parcel.extended_hours,
            },
        )

    def _cancel_announcement(self, actor: str, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        barcode = _text(args, "barcode")
        parcel = self.store.cancel_announcement(barcode, actor)
        asyncio.get_running_loop().call_soon(self.kiosk.refresh_all)  # after the commit
        return f"Announcement of {barcode} cancelled.", {"barcode": barcode, "parcel": parcel.id}

    def _resend_events(self, actor: str, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """A consumer found a gap in this kiosk's seq (a broker dropped what it had
        acknowledged): send the event log again from ``from_seq``. Opens nothing."""
        first = args.get("from_seq")
        if isinstance(first, bool) or not isinstance(first, int) or first < 1:
            raise InvalidInput("from_seq must be a whole number from 1")
        last = self.store.last_event_seq()
        if self.on_resend is not None:
            self.on_resend(first)
        return (f"Events {first} to {last} are being sent again.",
                {"from_seq": first, "last_seq": last})  # fmt: skip

    def _selftest(self, actor: str, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        result = report.selftest(self.kiosk)
        n = len(result["problems"])
        message = "Self-test passed." if not n else f"Self-test found {n} problem(s)."
        return message + " (No door was opened.)", result

    def _record(
        self, cmd: Command, ok: bool, reason: str | None, message: str, result: dict[str, Any]
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

    def _refuse(self, cmd: Command, exc: LockerError) -> dict[str, Any]:
        reason = exc.reason if isinstance(exc, Refusal) else "refused"
        self._record(cmd, False, reason, str(exc), {})
        return self._result(cmd.id, cmd.command, False, reason, str(exc), {})

    def _result(
        self,
        cid: str | None,
        command: str | None,
        ok: bool,
        reason: str | None,
        message: str,
        result: dict[str, Any],
        replayed: bool = False,
    ) -> dict[str, Any]:
        return {
            "kiosk": self.kiosk_id,
            "id": cid,
            "command": command,
            "ok": ok,
            "reason": reason,
            "message": message,
            "result": result,
            "replayed": replayed,
            "ts": self.clock(),
        }

    # -- announcements --------------------------------------------------------------

    def announcement(self, raw: bytes) -> dict[str, Any]:
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            body = None
        version = body.get("version") if isinstance(body, dict) else None
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            self.store.log_event(
                "announcement_refused", "warning", "fleet", None, reason="malformed"
            )
            return self._result(
                None,
                "announce",
                False,
                "malformed",
                "an announcement needs a JSON object with a version >= 1",
                {},
            )
        assert isinstance(body, dict)
        rid = f"announce:{version}"
        cursor = self.store.meta_int(ANNOUNCEMENTS_CURSOR)
        if version <= cursor:
            return self._result(
                rid,
                "announce",
                True,
                None,
                f"version {version} was applied before (cursor {cursor})",
                {},
                replayed=True,
            )
        action = body.get("action", "announce")
        held: str | None = None
        try:
            with self.store.transaction():
                if action == "announce":
                    reserve, hours = _reservation(body)
                    parcel = self.courier.announce_as(
                        "fleet",
                        _text(body, "barcode"),
                        _text(body, "size"),
                        _opt(body, "phone"),
                        _opt(body, "email"),
                    )
                    message = f"Parcel {parcel.barcode} announced."
                    if reserve:
                        held, said = self.courier.hold_for(parcel, hours, "fleet")
                        message += " " + said
                elif action == "cancel":
                    parcel = self.store.cancel_announcement(_text(body, "barcode"), "fleet")
                    message = f"Announcement of {parcel.barcode} cancelled."
                else:
                    raise InvalidInput(f"unknown action {str(action)[:32]!r}")
                self.store.set_meta(ANNOUNCEMENTS_CURSOR, str(version))
        except LockerError as exc:
            # Sending it again would not help: move past it, say why, keep a trace.
            self.store.set_meta_with_events(
                ANNOUNCEMENTS_CURSOR,
                str(version),
                [("announcement_refused", "warning", {"version": version, "reason": str(exc)})],
            )
            return self._result(rid, "announce", False, "refused", str(exc), {})
        if held is not None:
            self.kiosk.refresh(held)
        if action == "cancel":
            self.kiosk.refresh_all()  # what was held for it is free again
        return self._result(
            rid,
            "announce",
            True,
            None,
            message,
            {"barcode": parcel.barcode, "parcel": parcel.id, "version": version, "held": held},
        )

    # -- desired config -------------------------------------------------------------

    def desired(self, raw: bytes) -> dict[str, Any]:
        """Apply what may be set; the reported config says what was and was not."""
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            body = None
        settings = body.get("settings") if isinstance(body, dict) else None
        version = body.get("version") if isinstance(body, dict) else None
        if not isinstance(settings, dict):
            return {
                "kiosk": self.kiosk_id,
                "version": version,
                "applied": {},
                "refused": {"": "not a JSON object with a settings table"},
            }
        applied, refused = {}, {}
        for key, value in settings.items():
            problem = _check_setting(key, value)
            if problem:
                refused[key] = problem
            else:
                applied[key] = value
        if applied:
            saved = {**self.saved_settings(), **applied}
            self.store.set_meta_with_events(
                SETTINGS,
                json.dumps(saved, sort_keys=True),
                [("remote_config_applied", "info", {"version": version, "settings": applied})],
            )
            self.apply_settings(saved)
        return {
            "kiosk": self.kiosk_id,
            "version": version,
            "applied": self.saved_settings(),
            "refused": refused,
        }

    def saved_settings(self) -> dict[str, Any]:
        raw = self.store.get_meta(SETTINGS)
        saved = json.loads(raw) if raw else {}
        return {k: v for k, v in saved.items() if not _check_setting(k, v)}

    def apply_settings(self, settings: dict[str, Any]) -> None:
        config = self.kiosk.config
        policy, fleet = config.policy, config.fleet
        for key, value in settings.items():
            section, name = key.split(".", 1)
            if section == "policy":
                policy = dataclasses.replace(policy, **{name: value})
            else:
                fleet = dataclasses.replace(fleet, **{name: value})
        self.kiosk.config = dataclasses.replace(config, policy=policy, fleet=fleet)


def _reservation(body: dict[str, Any]) -> tuple[bool, float]:
    """``reserve`` (hold a compartment for the parcel) and for how many hours."""
    reserve = body.get("reserve", False)
    hours = body.get("reserve_hours", DEFAULT_RESERVE_HOURS)
    if not isinstance(reserve, bool):
        raise InvalidInput("reserve must be true or false")
    if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 < hours <= 168:
        raise InvalidInput("reserve_hours must be a number of hours above 0, at most 168")
    return reserve, float(hours)


def _check_setting(key: str, value: Any) -> str | None:
    rule = SETTABLE.get(key)
    if rule is None:
        return "not settable remotely"
    kind, low, high = rule
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be a number"
    if kind is int and not isinstance(value, int):
        return "must be a whole number"
    if not low <= value <= high:
        return f"must be between {low:g} and {high:g}"
    return None


def _text(args: dict[str, Any], name: str) -> str:
    value = args.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name} is missing")
    return value.strip()[:128]


def _opt(args: dict[str, Any], name: str) -> str | None:
    value = args.get(name)
    return value if isinstance(value, str) and value else None


def _compartments(args: dict[str, Any]) -> list[str]:
    cid = args.get("compartment")
    return [cid] if isinstance(cid, str) else []


def _unverified_id(raw: bytes) -> tuple[str | None, str | None]:
    """The id and name a refused envelope claims, for the result only (not trusted)."""
    try:
        payload = json.loads(base64.b64decode(json.loads(raw)["payload"], validate=True))
        cid, name = payload.get("id"), payload.get("command")
        return (
            cid[:64] if isinstance(cid, str) else None,
            name[:32] if isinstance(name, str) else None,
        )
    except Exception:
        return None, None
