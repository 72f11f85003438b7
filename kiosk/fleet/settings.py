"""Desired config: the few settings the operator's network may change on a kiosk.

Only :data:`SETTABLE` may be set, each within its range; the locks, boards, keys and
everything else come from the kiosk's own file. A desired config is a signed message
(``desired_config``, on the retained ``config/desired`` topic) with a ``version``: it is
applied once, only above the version in force, so neither a replay nor an older config
the broker kept can roll the settings back. What is applied is kept in the store (with
its version and id) and put back in force at every start; the retained copy that then
arrives again is the same message, and changes nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import TYPE_CHECKING, Any

from kiosk.fleet import report
from kiosk.fleet.channels import DESIRED_CONFIG
from kiosk.fleet.envelope import Command, CommandRefused, version_of
from kiosk.fleet.gate import Gate
from kiosk.fleet.payloads import Outcome, Refused, ReportedConfig, Result, Settings, SettingsApplied
from kiosk.protocol.events import EventKind, Severity
from kiosk.store.fleet import SETTINGS, SETTINGS_ID, SETTINGS_VERSION, UNSIGNED_SETTINGS

if TYPE_CHECKING:
    from kiosk.core import Kiosk

SETTABLE: dict[str, tuple[type, float, float]] = {
    "policy.hold_hours": (float, 1.0, 24 * 60.0),
    "policy.max_extend_hours": (float, 0.0, 720.0),
    "fleet.remote_opens_per_hour": (int, 0, 1000),
}

Reply = tuple[Result | None, ReportedConfig | None]
"""What to publish: the answer on ``results`` and the ``config/reported``; ``None``
where there is nothing to say (the retained copy of the config in force, once more)."""


class DesiredSettings:
    def __init__(self, kiosk: Kiosk, gate: Gate) -> None:
        self.kiosk, self.gate, self.store = kiosk, gate, kiosk.store
        self.kiosk_id = kiosk.config.kiosk.id
        self._last_refused: bytes | None = None  # a retained refusal is told once a run
        self._drop_unsigned()
        self.apply(self.saved())

    def _drop_unsigned(self) -> None:
        """Settings an unsigned desired config once put in force are not put back: anyone
        who could publish could have set them. Said once, in an event."""
        raw = self.store.get_meta(UNSIGNED_SETTINGS)
        if not raw or raw == "{}":
            return
        try:
            settings = json.loads(raw)
        except ValueError:
            settings = raw[:200]
        with self.store.transaction():
            self.store.set_meta(UNSIGNED_SETTINGS, "{}")
            self.store.log_event(EventKind.REMOTE_CONFIG_REFUSED, Severity.WARNING, "fleet", None,
                                 reason="unsigned", settings=settings,
                                 message="settings once set by an unsigned desired config are "
                                 "no longer in force; the kiosk's own file is, until the "
                                 "operator sends them signed")  # fmt: skip

    def handle(self, raw: bytes) -> Reply:
        """Apply a desired config if it checks out and is newer than the one in force."""
        digest = hashlib.sha256(raw).digest()
        if digest == self._last_refused:
            return None, None  # the same retained refusal, delivered again at a reconnect
        try:
            admitted = self.gate.admit(raw, DESIRED_CONFIG)
        except CommandRefused as exc:
            self._last_refused = digest
            return self.gate.refuse(
                EventKind.REMOTE_CONFIG_REFUSED, raw, exc, topic=DESIRED_CONFIG.leaf
            ), None
        if admitted.seen is not None:
            return None, None
        cmd = admitted.command
        try:
            version, settings = _content(cmd)
            in_force = self.store.meta_int(SETTINGS_VERSION)
            if version <= in_force:
                raise CommandRefused(
                    "stale", f"version {version} is not above the version in force, {in_force}"
                )
        except CommandRefused as exc:
            self._record_refusal(cmd, exc)
            return self._answer(cmd, False, exc.reason, str(exc), Refused()), None
        return self._apply(cmd, version, settings)

    def _apply(self, cmd: Command, version: int, settings: dict[str, Any]) -> Reply:
        applied: Settings = {}
        refused: dict[str, str] = {}
        for key, value in settings.items():
            problem = check_setting(str(key), value)
            if problem:
                refused[str(key)[:64]] = problem
            else:
                applied[key] = value
        saved = {**self.saved(), **applied}
        outcome = SettingsApplied(version=version, applied=applied, refused=refused)
        message = f"Settings of version {version} applied" + (
            f"; refused: {', '.join(sorted(refused))}." if refused else "."
        )
        with self.store.transaction():
            self.store.set_meta(SETTINGS, json.dumps(saved, sort_keys=True))
            self.store.set_meta(SETTINGS_VERSION, str(version))
            self.store.set_meta(SETTINGS_ID, cmd.id)
            self.store.record_fleet_command(
                cmd.id,
                cmd.kid,
                cmd.command,
                dict(outcome),
                True,
                None,
                {"message": message, "result": outcome},
                event=False,
            )
            self.store.log_event(
                EventKind.REMOTE_CONFIG_APPLIED,
                Severity.INFO,
                f"fleet:{cmd.kid}",
                None,
                version=version,
                settings=applied,
                refused=refused,
            )
        self.apply(saved)
        return self._answer(cmd, True, None, message, outcome), self.reported(refused)

    def _record_refusal(self, cmd: Command, exc: CommandRefused) -> None:
        with self.store.transaction():
            self.store.record_fleet_command(
                cmd.id,
                cmd.kid,
                cmd.command,
                {},
                False,
                exc.reason,
                {"message": str(exc), "result": {}},
                event=False,
            )
            self.store.log_event(
                EventKind.REMOTE_CONFIG_REFUSED,
                Severity.WARNING,
                f"fleet:{cmd.kid}",
                None,
                command_id=cmd.id,
                reason=exc.reason,
                message=str(exc),
            )

    def _answer(
        self, cmd: Command, ok: bool, reason: str | None, message: str, details: Outcome
    ) -> Result:
        return report.result(self.kiosk_id, cmd.id, cmd.command, ok, reason, message, details)

    def reported(self, refused: dict[str, str] | None = None) -> ReportedConfig:
        """``config/reported``: the settings in force, with the version and id they came
        with (``refused``: what the last desired config asked for and could not have)."""
        return {
            "kiosk": self.kiosk_id,
            "id": self.store.get_meta(SETTINGS_ID),
            "version": self.store.meta_int(SETTINGS_VERSION),
            "applied": self.saved(),
            "refused": refused or {},
        }

    def saved(self) -> Settings:
        raw = self.store.get_meta(SETTINGS)
        saved = json.loads(raw) if raw else {}
        return {k: v for k, v in saved.items() if not check_setting(k, v)}

    def apply(self, settings: Settings) -> None:
        """Put ``settings`` in force in the running daemon."""
        config = self.kiosk.config
        policy, fleet = config.policy, config.fleet
        for key, number in settings.items():
            section, name = key.split(".", 1)
            # the field is named at run time; check_setting held its value to its rule
            value: Any = number
            if section == "policy":
                policy = dataclasses.replace(policy, **{name: value})
            else:
                fleet = dataclasses.replace(fleet, **{name: value})
        self.kiosk.config = dataclasses.replace(config, policy=policy, fleet=fleet)


def _content(cmd: Command) -> tuple[int, dict[str, Any]]:
    if cmd.command != "desired_config":
        raise CommandRefused(
            "unknown_command", f"{cmd.command[:32]!r} is not a desired config (on config/desired)"
        )
    settings = cmd.args.get("settings")
    if not isinstance(settings, dict):
        raise CommandRefused("malformed", "a desired config needs a settings table")
    return version_of(cmd), settings


def check_setting(key: str, value: Any) -> str | None:
    """Why ``key`` cannot be set to ``value`` from the network, or ``None`` if it can."""
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
