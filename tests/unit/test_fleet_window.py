"""The remote-open cap against a wall clock that steps: it neither stretches nor vanishes.

The cap is timed on the monotonic clock; its stamps are kept in the store with the boot
they were taken in, so a restart of the daemon keeps them exactly, and only a reboot
falls back on the wall clock (never counting a stamp as younger than nothing).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.fleet.window import HourlyCap
from kiosk.store import Store

WALL = 1_800_000_000.0


class Clocks:
    """A monotonic and a wall clock that a test moves apart."""

    def __init__(self) -> None:
        self.mono, self.wall = 5_000.0, WALL

    def cap(self, store: Store, boot: str = "boot-1") -> HourlyCap:
        return HourlyCap(store, "fleet.remote_opens", lambda: self.mono, lambda: self.wall, boot)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "kiosk.db")


def test_a_wall_clock_step_forward_does_not_lift_the_cap(store: Store) -> None:
    clocks = Clocks()
    cap = clocks.cap(store)
    cap.take()
    cap.take()
    clocks.wall += 4 * 86400  # a Pi without a battery clock corrects itself by 4 days
    clocks.mono += 60
    assert cap.count() == 2, "both opens are still within the hour"
    assert clocks.cap(store).count() == 2, "and still after a restart within the boot"


def test_a_wall_clock_step_back_does_not_stretch_the_cap(store: Store) -> None:
    clocks = Clocks()
    cap = clocks.cap(store)
    cap.take()
    clocks.wall -= 86400
    clocks.mono += 3601
    assert cap.count() == 0, "an hour went by, whatever the wall clock says"
    assert clocks.cap(store).count() == 0


def test_the_hour_runs_on_the_monotonic_clock_across_a_restart(store: Store) -> None:
    clocks = Clocks()
    clocks.cap(store).take()
    clocks.mono += 3000
    restarted = clocks.cap(store)
    assert restarted.count() == 1
    assert restarted.seconds_until_free() == pytest.approx(600)
    clocks.mono += 601
    assert restarted.count() == 0


@pytest.mark.usefixtures("under_the_unit")
def test_under_the_unit_a_restart_keeps_the_remote_opens_of_the_hour(store: Store) -> None:
    # The daemon's caps read the boot as the kiosk's clock does: from the unit, as the
    # kernel's copy is hidden. Read as "no boot", every restart would be a reboot, and a
    # wall clock set ahead would then hand out a fresh hour of remote opens.
    clocks = Clocks()

    def as_the_daemon_builds_it() -> HourlyCap:
        return HourlyCap(store, "fleet.remote_opens", lambda: clocks.mono, lambda: clocks.wall)

    as_the_daemon_builds_it().take()
    as_the_daemon_builds_it().take()
    clocks.wall += 4 * 86400
    clocks.mono += 60

    assert as_the_daemon_builds_it().count() == 2


def test_after_a_reboot_the_wall_clock_counts_and_never_less_than_nothing(store: Store) -> None:
    clocks = Clocks()
    clocks.cap(store).take()
    clocks.mono = 10.0  # a new boot: the monotonic clock started again
    clocks.wall += 1800
    assert clocks.cap(store, boot="boot-2").count() == 1, "half an hour old by the wall clock"
    clocks.wall = WALL - 86400  # the clock came up a day behind
    rebooted = clocks.cap(store, boot="boot-2")
    assert rebooted.count() == 1, "a stamp from 'the future' counts for a full hour"
    assert rebooted.seconds_until_free() == pytest.approx(3600)
    clocks.wall = WALL + 3601
    assert clocks.cap(store, boot="boot-2").count() == 0
