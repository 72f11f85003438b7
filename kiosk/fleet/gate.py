"""The kiosk's trust boundary with its network: every message from it passes here first.

Commands, announcements, desired config and staff lists alike
(:data:`~kiosk.fleet.channels.CHANNELS`) are admitted only as an envelope signed by a key
pinned on this kiosk, for this kiosk, within the lifetime of their topic, and not
expired (:mod:`kiosk.fleet.envelope`). One
seen before is a replay: its first answer stands and nothing is done again, whatever its
age. What is refused here was never trusted, so it is not recorded (its id could be a
real message's, still on its way); it leaves an event with the reason.

A broker that floods a kiosk with forged messages must not fill its disk with events:
each kind of refusal is logged at most :data:`EVENTS_PER_HOUR` times an hour, and the
rest are counted and told in the next event of that kind (``unlogged``), or by
:meth:`Gate.flush` when the hour is over. Five kinds pass here, so a flood that never
stops writes at most 5 x 21 rows an hour, about 2,500 a day (about 1 MB).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kiosk.fleet import report
from kiosk.fleet.channels import Channel
from kiosk.fleet.envelope import (
    Command,
    CommandRefused,
    Keyring,
    check_time,
    open_envelope,
    unverified_id,
)
from kiosk.fleet.payloads import Refused, Result
from kiosk.protocol.events import EventKind, Severity

if TYPE_CHECKING:
    from kiosk.store import Store
    from kiosk.store.fleet import FleetCommandRow

log = logging.getLogger("kiosk.fleet")

EVENTS_PER_HOUR = 20
WINDOW_S = 3600.0


@dataclass(frozen=True)
class Admitted:
    """A message whose envelope checked out; ``seen`` is the record of its first arrival
    when this one is a replay."""

    command: Command
    seen: FleetCommandRow | None


@dataclass
class _Quota:
    """One kind of event's allowance in the current hour, and what went unlogged."""

    started: float
    logged: int = 0
    unlogged: int = 0
    last: dict[str, Any] = field(default_factory=dict)


class Gate:
    def __init__(
        self,
        keyring: Keyring,
        kiosk_id: str,
        store: Store,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.keyring, self.kiosk_id, self.store = keyring, kiosk_id, store
        self.clock, self.monotonic = clock, monotonic
        self._quotas: dict[EventKind, _Quota] = {}

    def admit(self, raw: bytes, channel: Channel) -> Admitted:
        """The message in ``raw`` if it may be acted on (or answered as a replay); else
        :class:`CommandRefused` with the reason."""
        command = open_envelope(raw, self.keyring, self.kiosk_id, channel)
        seen = self.store.fleet_command(command.id)
        if seen is None:
            check_time(command, self.clock())
        return Admitted(command, seen)

    def refuse(self, kind: EventKind, raw: bytes, exc: CommandRefused, **detail: Any) -> Result:
        """The event (``kind``) and the answer for a message refused before it was
        trusted; the id and name in both are what the message claims, nothing more."""
        cid, name = unverified_id(raw)
        self.note(
            kind,
            Severity.WARNING,
            command_id=cid,
            command=name,
            reason=exc.reason,
            message=str(exc),
            **detail,
        )
        return report.result(self.kiosk_id, cid, name, False, exc.reason, str(exc), Refused())

    def note(self, kind: EventKind, severity: Severity, **detail: Any) -> None:
        """An event of ``kind``, within its quota of :data:`EVENTS_PER_HOUR`."""
        now = self.monotonic()
        quota = self._quotas.get(kind)
        if quota is None or now - quota.started >= WINDOW_S:
            if quota is not None and quota.unlogged:
                self._log(kind, severity, {**quota.last, "unlogged": quota.unlogged})
            quota = self._quotas[kind] = _Quota(now)
        if quota.logged >= EVENTS_PER_HOUR:
            quota.unlogged += 1
            quota.last = detail
            return
        quota.logged += 1
        self._log(kind, severity, detail)

    def flush(self) -> None:
        """Tell what went unlogged in an hour that is over (called now and then)."""
        now = self.monotonic()
        for kind, quota in list(self._quotas.items()):
            if now - quota.started >= WINDOW_S:
                del self._quotas[kind]
                if quota.unlogged:
                    self._log(kind, Severity.WARNING, {**quota.last, "unlogged": quota.unlogged})

    def _log(self, kind: EventKind, severity: Severity, detail: dict[str, Any]) -> None:
        self.store.log_event(kind, severity, "fleet", None, **detail)
        log.warning(
            "%s: %s (%s)%s",
            kind,
            detail.get("reason"),
            detail.get("message"),
            f"; {detail['unlogged']} more not logged" if "unlogged" in detail else "",
        )
