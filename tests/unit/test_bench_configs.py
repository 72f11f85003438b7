"""The benchmarks' kiosks as the product reads their configs: a benchmark that picks up
more parcels than its bank has compartments needs each one free again at once, or its
next batch of deposits is refused for want of a compartment and the script stops."""

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from kiosk.config import load_config

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def pickup_to_frame(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.syspath_prepend(str(BENCH))  # the scripts import their neighbours so
    yield importlib.import_module("pickup_to_frame")
    for name in ("pickup_to_frame", "kerong_rig", "common"):
        sys.modules.pop(name, None)


def test_pickup_to_frame_fills_its_bank_again_after_picking_every_parcel_up(
    pickup_to_frame: ModuleType, tmp_path: Path
) -> None:
    bench = pickup_to_frame
    path = tmp_path / "kiosk.toml"
    path.write_text(
        bench.kerong_config(
            tmp_path / "data", baud=19200, locks=bench.LOCKS, sections=bench.SECTIONS
        )
    )
    config = load_config(path)
    assert len(config.compartments) < 2 * 24  # --quick's pickups per baud, with httpx's
    assert config.doors.reopen_after_pickup_s == 0
