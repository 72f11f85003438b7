"""The mass-open guard through the daemon: too many opens, and the doors stop opening.

The daemon here trips past 3 door opens in 5 minutes. Open-all and the self-test are a
technician's own tools and do not count; pickups, deposits and single opens do.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kiosk.protocol.client import ApiError
from testkit.daemon import TECHNICIAN, Daemon, running_daemon
from tests.faults.conftest import kinds

GUARD = {"security": {"mass_open_max": 3, "mass_open_window_s": 300}}


@pytest.fixture
def daemon() -> Iterator[Daemon]:
    with running_daemon(sections=GUARD, close_delay_s=0.15) as d:
        yield d


def deposit(daemon: Daemon, barcode: str) -> str:
    courier = daemon.signed_in()
    view = courier.post("/v1/deposits", {"barcode": barcode, "size": "S",
                                         "phone": "+4915112345678"})  # fmt: skip
    courier.wait_operation(view["operation"], until_done=True)
    return daemon.code_for(barcode)


def test_a_burst_of_opens_stops_the_doors_until_a_technician_resets_the_guard(
    daemon: Daemon,
) -> None:
    tech = daemon.signed_in(TECHNICIAN)
    job = tech.post("/v1/compartments/open-all")  # 12 doors: not counted
    *_, done = tech.watch_job(job["id"], poll=10)
    assert [r["ok"] for r in done["results"]] == [True] * 12
    # The simulated person put something into each door open-all opened: out again, so
    # the deposits below find their compartments empty, as a real kiosk's would be.
    for row in daemon.client().get("/v1/compartments")["compartments"]:
        daemon.sim().set_item(row["id"], False)
    codes = [deposit(daemon, f"GUARD-{n}") for n in range(3)]  # opens 1-3
    fires = daemon.sim().fire_counts()

    with pytest.raises(ApiError) as refused:
        daemon.client().post("/v1/pickup", {"code": codes[0]})  # open 4: too many

    assert refused.value.status == 503
    assert refused.value.message == (
        "The kiosk has paused opening doors for safety. For help: +49 30 999"
    )
    assert daemon.sim().fire_counts() == fires  # no lock fired
    (alarm,) = daemon.events("mass_open_guard_tripped")
    assert alarm["severity"] == "alarm"
    assert daemon.client().get("/v1/status")["mass_open_guard"]["tripped"] is True

    # A restart does not re-arm the doors.
    assert daemon.stop() == 0
    daemon.start()
    with pytest.raises(ApiError):
        daemon.client().post("/v1/pickup", {"code": codes[1]})
    shown = daemon.ctl("status")
    assert "STOPPED by the mass-open guard" in shown.stdout

    reset = daemon.ctl("guard-reset", pin=TECHNICIAN[1])
    assert reset.returncode == 0, reset.stderr
    assert "mass-open guard is reset" in reset.stdout
    picked = daemon.client().post("/v1/pickup", {"code": codes[1]})
    assert (
        picked["message"]
        == f"Door {picked['compartment']} is open: take your parcel and close the door."
    )
    assert len(daemon.events("open_refused_by_guard")) == 2
    assert "mass_open_guard_reset" in kinds(daemon.events())
