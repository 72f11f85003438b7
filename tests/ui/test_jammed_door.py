"""A jammed door with the kiosk's default timings (a 5 s wait for the door, fired twice):
the customer sees the door being opened, fired again, and then that it did not open,
with the help number; never "The kiosk is not answering" for a door still being opened."""

from __future__ import annotations

import dataclasses

import pytest

from kiosk.config.model import DoorsSection, LocksSection
from kiosk.ui.app import App
from testkit.daemon import running_daemon
from tests.ui.test_courier_ui import kiosk_ui, parcel, seen_until, states
from tests.ui.test_customer_ui import stored

DEFAULT_TIMINGS = {
    "doors": dataclasses.asdict(DoorsSection()),
    "locks": dataclasses.asdict(LocksSection()),
}


def jammed_pickup(monkeypatch: pytest.MonkeyPatch | None = None) -> None:
    with running_daemon(sections=DEFAULT_TIMINGS) as daemon, kiosk_ui(daemon) as ui:
        door, code = stored(daemon)
        fired = daemon.sim().fire_counts()[door]
        assert ui.app.kiosk is not None and ui.app.kiosk["door_answer_s"] == 11.3  # 2 × 5.65 s
        daemon.sim().jam(door)  # the lock fires, the door stays shut
        if monkeypatch is not None:  # the link gives up long before the daemon answers
            monkeypatch.setattr(App, "door_call_timeout_s", lambda self, doors=1: 2.0)
        ui.tap("Pick up a parcel")
        ui.type(code)
        ui.tap("OK")

        outcome = f"Door {door} did not open. For help: +49 30 999"
        seen = seen_until(ui, outcome, timeout=60)
        assert f"Opening door {door}…" in seen
        assert f"Door {door} did not open yet. Trying again…" in seen
        assert not [t for t in seen if "not answering" in t]
        assert ui.button("Back").enabled  # a way out

        assert daemon.sim().fire_counts()[door] == fired + 2  # the first fire and one retry
        assert [e["compartment"] for e in daemon.events("customer_needs_help")] == [door]
        assert states(daemon)[door] == "OUT_OF_SERVICE"
        assert parcel(daemon, "1Z999AA10123456784")["state"] == "STORED"


def test_a_jammed_door_with_the_default_timings_is_named_to_the_customer() -> None:
    jammed_pickup()


def test_a_door_still_being_opened_after_the_link_gave_up_is_followed_to_its_outcome(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jammed_pickup(monkeypatch)
