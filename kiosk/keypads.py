"""The kiosk's two keypad throttles, for pickup codes and for sign-in PINs.

Each is a :class:`~kiosk.throttle.Throttle` whose state lives in the store's ``meta``
table, so pulling the plug does not reset a lockout. Every wrong input is an event,
and so is every input refused during a lockout: it is refused unread (without the code
or PIN), and it counts towards the brute-force alarm but does not make the lockout
longer. A failure, its lockout and its alarm are written in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from kiosk.config_model import SecuritySection
from kiosk.errors import Throttled
from kiosk.store import Store
from kiosk.throttle import Throttle

__all__ = ["Keypads"]

META_KEYS = {"code": "throttle.code", "pin": "throttle.pin"}
_WHAT = {"code": "codes", "pin": "sign-ins"}


class Keypads:
    """The throttles named ``code`` and ``pin``; see the module docstring."""

    def __init__(self, store: Store, security: SecuritySection, clock: Callable[[], float]):
        self.store = store
        self.clock = clock
        self._params: dict[str, Any] = {
            "free_attempts": security.wrong_codes_before_lockout,
            "initial_lockout_s": security.lockout_initial_s,
            "max_lockout_s": security.lockout_max_s,
            "alarm_per_hour": security.bruteforce_alarm_per_hour,
        }
        self._throttles = {name: self._load(name) for name in META_KEYS}

    def retry_after(self, name: str) -> float:
        """Seconds until keypad ``name`` accepts input again (0.0: it does now)."""
        return self._throttles[name].retry_after()

    def check(self, name: str, **detail: Any) -> None:
        """Raise :class:`Throttled` during a lockout, after logging the refusal."""
        wait = self.retry_after(name)
        if wait > 0:
            kind = "code_refused_locked" if name == "code" else "sign_in_refused_locked"
            self.fail(name, kind, retry_after=round(wait, 1), **detail)
            raise Throttled(f"Too many wrong tries. The kiosk accepts {_WHAT[name]} again in "
                            f"{int(wait + 0.999)} seconds.", wait)  # fmt: skip

    def fail(self, name: str, kind: str, **detail: Any) -> None:
        """Count a wrong input: the throttle's state and its events, one transaction."""
        throttle = self._throttles[name]
        outcome = throttle.record_failure()
        events: list[tuple[str, str, dict[str, Any]]] = [
            (kind, "warning", {"in_row": outcome.failures_in_row, **detail})
        ]
        if outcome.locked_for > 0:
            events.append(("keypad_locked", "warning",
                           {"input": name, "seconds": outcome.locked_for}))  # fmt: skip
        if outcome.alarm:
            events.append(("brute_force_suspected", "alarm", {"input": name}))
        state = json.dumps(throttle.to_state())
        self.store.set_meta_with_events(META_KEYS[name], state, events)

    def succeed(self, name: str) -> None:
        """End a run of wrong inputs (written only when there was one)."""
        throttle = self._throttles[name]
        if throttle.to_state() != Throttle(self.clock).to_state():
            throttle.record_success()
            self.store.set_meta(META_KEYS[name], json.dumps(throttle.to_state()))

    def _load(self, name: str) -> Throttle:
        raw = self.store.get_meta(META_KEYS[name])
        if raw:
            return Throttle.from_state(json.loads(raw), self.clock, **self._params)
        return Throttle(self.clock, **self._params)
