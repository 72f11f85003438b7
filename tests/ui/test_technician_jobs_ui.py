"""Open-all and the self-test leave the doors that hold customers' parcels shut, unless
the technician includes them, and say how many they skipped, before and after."""

from __future__ import annotations

from testkit.api import store_parcel
from testkit.daemon import Daemon
from testkit.ui import UiDriver
from tests.ui.test_technician_ui import ALL, mark, sign_in_as_technician


def three_parcels(daemon: Daemon) -> list[str]:
    """Three parcels stored (the simulated person puts each one in); their doors."""
    doors = [store_parcel(daemon, f"JJD00000000{i}", size="S")[0] for i in range(3)]
    return sorted(doors)


def stored_states(daemon: Daemon) -> list[str]:
    return [p["state"] for p in daemon.client().get("/v1/parcels")["parcels"]]


def test_open_all_skips_the_doors_that_hold_parcels_and_says_how_many(
    daemon: Daemon, ui: UiDriver
) -> None:
    full = three_parcels(daemon)
    before = daemon.sim().fire_counts()
    sign_in_as_technician(ui)
    ui.tap("Open all")
    ui.wait_for_text("Open 9 doors, one after another?")
    assert ui.shows("3 doors hold parcels and are skipped.")
    ui.tap("confirm")
    ui.wait_for_text("All doors done: 9 opened, 0 did not open. 3 doors with parcels were "
                     "skipped.", timeout=30)  # fmt: skip

    after = daemon.sim().fire_counts()
    assert [cid for cid in ALL if after[cid] != before[cid]] == [c for c in ALL if c not in full]
    assert [mark(ui, cid) for cid in full] == [None, None, None]  # no result on them
    assert stored_states(daemon) == ["STORED"] * 3
    snapshot = daemon.sim().snapshot()
    assert all(snapshot[cid]["item"] for cid in full)  # the parcels are still inside


def test_a_self_test_that_includes_the_doors_with_parcels_opens_every_door(
    daemon: Daemon, ui: UiDriver
) -> None:
    three_parcels(daemon)
    before = daemon.sim().fire_counts()
    sign_in_as_technician(ui)
    ui.tap("Self-test")
    ui.wait_for_text("Start the self-test")
    ui.wait_for_text("3 doors hold parcels and are skipped.")
    assert ui.button("include-parcels").sublabel == "Off"
    ui.tap("include-parcels")
    ui.wait_for_text("The 3 doors with parcels open too.")
    ui.tap("start")
    ui.wait_for_text("Self-test finished: 12 passed, 0 failed.", timeout=45)
    assert not ui.shows("skipped")
    after = daemon.sim().fire_counts()
    assert all(after[cid] > before[cid] for cid in ALL)


def test_a_self_test_skips_the_doors_with_parcels_by_default(daemon: Daemon, ui: UiDriver) -> None:
    full = three_parcels(daemon)
    before = daemon.sim().fire_counts()
    sign_in_as_technician(ui)
    ui.tap("Self-test")
    ui.wait_for_text("3 doors hold parcels and are skipped.")
    ui.tap("start")
    ui.wait_for_text("Self-test finished: 9 passed, 0 failed. 3 doors with parcels were "
                     "skipped.", timeout=45)  # fmt: skip
    after = daemon.sim().fire_counts()
    assert [cid for cid in full if after[cid] != before[cid]] == []  # not fired
    assert stored_states(daemon) == ["STORED"] * 3
