"""The kiosk's two keypad throttles, for pickup codes and for sign-ins.

Each is a :class:`~kiosk.access.throttle.Throttle` on the monotonic clock whose state lives in
the store's ``meta`` table, so pulling the plug does not reset a lockout. Every wrong
input is an event; a failure, its lockout and its alarm are written in one transaction.

An input typed during a lockout is refused unread (without the code or PIN) and counts
towards the brute-force alarm, but it is *counted*, not written as an event of its own:
a flood of them must not fill the disk. The count goes into the hash-chained event log
as one event (``code_refused_locked`` or ``sign_in_refused_locked``, with ``count``)
when the lockout is over, or when the daemon stops. Until then it is kept in ``meta``
at most every :data:`SAVE_REFUSALS_S` seconds, so a crash loses at most that much of it
(the next start writes what was kept).

A sign-in counts *before* its slow PIN check (:meth:`Keypads.admit`) and is taken back
if the PIN was right (:meth:`Keypads.right`): a burst of concurrent sign-ins meets the
lockout that the first of them started, even while that one's check is still running.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kiosk.access.throttle import FailureOutcome, Throttle, ThrottleLimits, wait_shown
from kiosk.clock import read_boot_id
from kiosk.config.model import SecuritySection
from kiosk.errors import InvalidInput, LockerError, Throttled
from kiosk.protocol.events import EventKind, Severity
from kiosk.protocol.views import KeypadView
from kiosk.store import Store

__all__ = ["SAVE_REFUSALS_S", "Keypads"]

log = logging.getLogger(__name__)

META_KEYS = {"code": "throttle.code", "pin": "throttle.pin"}
SAVE_REFUSALS_S = 60.0
_WHAT = {"code": "codes", "pin": "sign-ins"}
_NAMES_KEPT = 5  # names tried during a lockout, kept for its event: a bounded few


@dataclass
class _Refused:
    """Inputs refused during a lockout, not yet in the event log."""

    count: int = 0
    in_row: int = 0
    users: list[str] = field(default_factory=list)
    saved_at: float = float("-inf")

    def add(self, in_row: int, user: Any) -> None:
        self.count += 1
        self.in_row = in_row
        if isinstance(user, str) and user not in self.users and len(self.users) < _NAMES_KEPT:
            self.users.append(user[:64])

    def detail(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"count": self.count, "in_row": self.in_row}
        if self.users:
            shown["users"] = list(self.users)
        return shown

    def to_json(self) -> str:
        return json.dumps(self.detail()) if self.count else ""

    @classmethod
    def from_json(cls, raw: str | None) -> _Refused:
        try:
            data = json.loads(raw) if raw else {}
            users = [str(u) for u in data.get("users", [])][:_NAMES_KEPT]
            return cls(int(data.get("count", 0)), int(data.get("in_row", 0)), users)
        except (ValueError, TypeError, AttributeError):
            return cls()  # a count that cannot be read is lost, never a reason not to start


class Keypads:
    """The throttles named ``code`` and ``pin``; see the module docstring."""

    def __init__(
        self,
        store: Store,
        security: SecuritySection,
        clock: Callable[[], float] = time.monotonic,
        boot: str | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.boot = read_boot_id() if boot is None else boot
        limits = {"code": security.code_limits(), "pin": security.sign_in_limits()}
        self._throttles = {name: self._load(name, limits[name]) for name in META_KEYS}
        self._refused = {
            name: _Refused.from_json(store.get_meta(_refused_key(name))) for name in META_KEYS
        }
        self._timers: dict[str, asyncio.TimerHandle] = {}
        for name in META_KEYS:
            self._watch(name)

    def retry_after(self, name: str) -> float:
        """Seconds until keypad ``name`` accepts input again (0.0: it does now)."""
        return self._throttles[name].retry_after()

    def view(self, name: str) -> KeypadView:
        """What status shows of keypad ``name``: the wait, and the inputs refused in the
        lockout going on that are not yet in the event log."""
        return {"retry_after": wait_shown(self.retry_after(name)),
                "refused": self._refused[name].count}  # fmt: skip

    def check(self, name: str, **detail: Any) -> None:
        """Raise :class:`Throttled` during a lockout, after counting the refusal."""
        with contextlib.suppress(LockerError):  # not written now: the next input tries
            self._report_refusals(name)
        wait = self.retry_after(name)
        if wait > 0:
            self._refuse(name, detail.get("user"))
            raise Throttled(f"Too many wrong tries. The kiosk accepts {_WHAT[name]} again in "
                            f"{math.ceil(wait)} seconds.", wait)  # fmt: skip

    def fail(self, name: str, kind: EventKind, **detail: Any) -> None:
        """Count a wrong input: the throttle's state and its events, one transaction."""
        self._report_refusals(name)
        self._write(name, self._throttles[name].record_failure(), kind, detail)

    def succeed(self, name: str) -> None:
        """End a run of wrong inputs (written only when there was one)."""
        throttle = self._throttles[name]
        if throttle.in_run:
            throttle.record_success()
            self._save(name)

    # -- an input whose check takes time (a PIN) ---------------------------------------

    def admit(self, name: str, **detail: Any) -> FailureOutcome:
        """Let one input through to its check, counted as a failure already (and kept);
        :class:`Throttled` during a lockout. Follow with :meth:`wrong` or :meth:`right`."""
        self.check(name, **detail)
        outcome = self._throttles[name].record_failure()
        self._save(name)
        self._watch(name)
        return outcome

    def wrong(self, name: str, outcome: FailureOutcome, kind: EventKind, **detail: Any) -> None:
        """The admitted input was wrong: its event, with the lockout and alarm it led to."""
        self._write(name, outcome, kind, detail)

    def right(self, name: str, outcome: FailureOutcome) -> None:
        """The admitted input was right: it was no failure, and it ends the run."""
        self._throttles[name].withdraw(outcome)
        self._save(name)

    def flush(self) -> None:
        """Write every count of refused inputs still open (the daemon stops)."""
        for name in META_KEYS:
            self._report_refusals(name, even_if_locked=True)

    # -- inside ---------------------------------------------------------------------

    def _write(self, name: str, outcome: FailureOutcome, kind: EventKind, detail: dict[str, Any]
               ) -> None:  # fmt: skip
        events: list[tuple[EventKind, Severity, dict[str, Any]]] = [
            (kind, Severity.WARNING, {"in_row": outcome.failures_in_row, **detail})
        ]
        if outcome.locked_for > 0:
            events.append((EventKind.KEYPAD_LOCKED, Severity.WARNING,
                           {"input": name, "seconds": round(outcome.locked_for, 1)}))  # fmt: skip
        if outcome.alarm:
            events.append((EventKind.BRUTE_FORCE_SUSPECTED, Severity.ALARM, {"input": name}))
        self.store.set_metas_with_events(self._state(name), events)
        self._watch(name)

    def _refuse(self, name: str, user: Any) -> None:
        throttle, refused = self._throttles[name], self._refused[name]
        alarm = throttle.record_refusal()
        refused.add(throttle.failures_in_row, user)
        now = self.clock()
        if not alarm and now - refused.saved_at < SAVE_REFUSALS_S:
            return
        events = (
            [(EventKind.BRUTE_FORCE_SUSPECTED, Severity.ALARM, {"input": name})] if alarm else []
        )
        try:
            self._save(name, events)
        except LockerError as exc:  # the refusal stands; its count stays in memory
            log.warning("refused %s not saved: %s", _WHAT[name], exc)
            return
        refused.saved_at = now

    def _report_refusals(self, name: str, even_if_locked: bool = False) -> None:
        """The count of refused inputs as one event, once the lockout is over."""
        refused = self._refused[name]
        if not refused.count or (self.retry_after(name) > 0 and not even_if_locked):
            return
        kind = EventKind.CODE_REFUSED_LOCKED if name == "code" else EventKind.SIGN_IN_REFUSED_LOCKED
        event = (kind, Severity.WARNING, refused.detail())
        self._refused[name] = _Refused()
        try:
            self._save(name, [event])
        except LockerError:
            self._refused[name] = refused  # not written: kept for the next try
            raise

    def _watch(self, name: str) -> None:
        """Write the count of refusals when the lockout ends, with nobody typing."""
        wait = self.retry_after(name)
        if wait <= 0 or name in self._timers:
            return
        with contextlib.suppress(RuntimeError):  # no loop running: reported at next input
            loop = asyncio.get_running_loop()
            self._timers[name] = loop.call_later(wait + 0.05, self._lockout_over, name)

    def _lockout_over(self, name: str) -> None:
        del self._timers[name]
        if self.retry_after(name) > 0:
            self._watch(name)  # made longer meanwhile (the hourly limit)
            return
        try:
            self._report_refusals(name)
        except LockerError as exc:
            log.warning("the count of refused %s waits for the next input: %s", _WHAT[name], exc)

    def _save(
        self, name: str, events: list[tuple[EventKind, Severity, dict[str, Any]]] | None = None
    ) -> None:
        self.store.set_metas_with_events(self._state(name), events or [])

    def _state(self, name: str) -> dict[str, str]:
        return {META_KEYS[name]: json.dumps(self._throttles[name].to_state()),
                _refused_key(name): self._refused[name].to_json()}  # fmt: skip

    def _load(self, name: str, limits: ThrottleLimits) -> Throttle:
        raw = self.store.get_meta(META_KEYS[name])
        if raw:
            try:
                return Throttle.from_state(json.loads(raw), self.clock, limits, self.boot)
            except (InvalidInput, ValueError):
                log.warning("the %s throttle's state could not be read: it starts locked",
                            name)  # fmt: skip
                return _locked(self.clock, limits, self.boot)
        return Throttle(self.clock, limits, self.boot)


def _refused_key(name: str) -> str:
    return f"{META_KEYS[name]}.refused"


def _locked(clock: Callable[[], float], limits: ThrottleLimits, boot: str) -> Throttle:
    """A throttle in its longest lockout: what an unreadable state is taken for, so that
    spoiling the state never opens the keypad."""
    state = Throttle(clock, limits, boot).to_state()
    state.update(lockouts=64, locked_until=clock() + limits.longest_lockout_s)
    return Throttle.from_state(state, clock, limits, boot)
