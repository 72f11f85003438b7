"""What a kiosk tells its network about itself, read from the kiosk as it runs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from drivers.base import DoorState
from kiosk.config import load_config
from kiosk.core import Kiosk, Settings
from kiosk.fleet.report import compartments_state
from kiosk.store import Store

ROOT = Path(__file__).resolve().parents[2]
DAY_S = 86400.0


class QuietHardware:
    """Every door closed and empty, every board online."""

    def __init__(self) -> None:
        self.door_listeners: list[object] = []
        self.health_listeners: list[object] = []

    def door(self, cid: str) -> DoorState:
        return DoorState.CLOSED

    def item(self, cid: str) -> bool | None:
        return False

    def is_board_online(self, board: str) -> bool:
        return True

    def board_status(self) -> list[dict[str, Any]]:
        return []


class KioskTime:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_alarms_of_the_last_day_are_counted_by_the_kiosks_time(tmp_path: Path) -> None:
    # The wall clock jumped four days ahead; the kiosk's time, which stamps its events,
    # did not follow it, and the jump's own alarm is a minute old.
    kiosk_time = KioskTime(time.time() - 4 * DAY_S)
    store = Store(tmp_path / "kiosk.db", clock=kiosk_time)
    kiosk = Kiosk(load_config(ROOT / "config" / "demo.toml"), store, QuietHardware(),  # type: ignore[arg-type]
                  b"k" * 32, settings=Settings(wall_clock=kiosk_time))  # fmt: skip
    store.log_event("forced_open", "alarm", None, "A01")
    kiosk_time.now += DAY_S + 60
    store.log_event("clock_jump", "alarm", None, None, step_s=4 * DAY_S)
    kiosk_time.now += 60

    assert compartments_state(kiosk)["alarms"] == 1  # the jump's; the forced door is older
