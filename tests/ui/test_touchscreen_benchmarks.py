"""The touchscreen's benchmarks (bench/ui_perf.py, bench/touch_perf.py) run their pickups on
the daemon they start: more pickups than the bank has doors, one after the other, each
door's lock fired. The figures are the scripts' own business; that they finish is this."""

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from testkit.daemon import running_daemon

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def ui_perf(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.syspath_prepend(str(BENCH))  # the scripts import their `common` so
    module = importlib.import_module("ui_perf")
    yield module
    sys.modules.pop("ui_perf", None)
    sys.modules.pop("common", None)


@pytest.mark.slow
def test_the_touchscreen_benchmark_picks_up_more_parcels_than_the_bank_has_doors(
    ui_perf: ModuleType,
) -> None:
    with running_daemon(**ui_perf.DAEMON) as daemon:
        doors = len(daemon.client().get("/v1/compartments")["compartments"])
        ui = ui_perf.connect(daemon)
        try:
            unlocks = ui_perf.code_to_unlock(ui, daemon, doors + 2)
        finally:
            ui.close()
        fired = (daemon.data_dir / "sim-fires.log").read_text().splitlines()
    assert len(unlocks) == doors + 2
    # each pickup's lock fired after its OK (a deposit fires one too, before it)
    assert len(fired) >= 2 * (doors + 2)
