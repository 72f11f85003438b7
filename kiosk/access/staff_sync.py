"""Whether the kiosk's staff list is the network's latest: the wait before a sign-in.

A kiosk keeps the operator's staff list on its disk and signs people in with it while it
is offline. When its link comes back, a revocation made meanwhile must be applied before
the next sign-in of anyone it could concern. The broker hands the kiosk its retained
list as soon as the link subscribes, a few milliseconds after it connected, so a sign-in
in that moment waits for it, at most :attr:`StaffSync.wait_s`::

    link:   down ──── connected ──┬─ retained list applied ──── ... ── down
    state:  offline   pending     │  synced                          offline
    sign-in of a central person:  waits here (at most wait_s), then goes on

Only sign-ins that may concern the list wait: a local user's never does, nor any while
the kiosk holds no list at all (nothing of the network's could be revoked). While the
link is down the kiosk signs in with what it last received; a list that does not come
within ``wait_s`` (a broker that lost its retained messages) leaves the state
``unconfirmed`` for the rest of the connection, and sign-ins go on with what the kiosk
has.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Literal

from kiosk.protocol.views import StaffSyncView

log = logging.getLogger(__name__)

State = Literal["off", "offline", "pending", "synced", "unconfirmed"]


class StaffSync:
    def __init__(self, enabled: bool, wait_s: float, has_list: Callable[[], bool]) -> None:
        """``enabled``: the kiosk has a fleet link (else nothing ever waits);
        ``has_list``: whether the kiosk holds a staff list from the network."""
        self.wait_s = wait_s
        self.has_list = has_list
        self.state: State = "pending" if enabled else "off"
        self._settled = asyncio.Event()
        if not enabled:
            self._settled.set()

    def link_up(self) -> None:
        """The link connected: its retained list is on its way."""
        self.state = "pending"
        self._settled.clear()

    def link_down(self) -> None:
        """The link is down (or could not start): sign in with what the kiosk has."""
        if self.state != "off":
            self.state = "offline"
        self._settled.set()

    def confirmed(self) -> None:
        """The broker's retained list was handled: the kiosk has the latest."""
        if self.state != "off":
            self.state = "synced"
        self._settled.set()

    async def ready(self) -> None:
        """Return once a sign-in may use the list: at once unless the link has just
        connected and its list is still on its way (then at most ``wait_s``)."""
        if self.state != "pending" or not self.has_list():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._settled.wait(), self.wait_s)
            return
        if self.state == "pending":
            self.state = "unconfirmed"
            self._settled.set()
            log.warning("no staff list came within %.0f s of connecting: signing in with the "
                        "one the kiosk has", self.wait_s)  # fmt: skip

    def view(self) -> StaffSyncView:
        return {"state": self.state, "wait_s": self.wait_s}
