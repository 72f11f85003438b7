"""Crash safety: ``kill -9`` at random points of deposits and pickups, restart, check.

Five runs of ten kills, each run on one data dir with its own fixed seed. After every
restart (and once every door closed by itself again) the invariants of
:mod:`testkit.invariants` must hold: every parcel in exactly one place, every
deposit the API called stored kept, no lock fired by itself, all outputs off, the event
log's chain intact. ``tools/crashloop.py`` runs the same for thousands of kills; each
run prints the command that replays its plan there.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from testkit.crash import DAEMON_CONFIG, CrashRun, kerong_daemon
from testkit.daemon import running_daemon
from testkit.invariants import (
    Ledger,
    StoreView,
    check_closed_deposits,
    check_fires_had_intents,
    check_ledger,
    check_no_fire_by_itself,
    check_outputs_off,
    check_parcels_in_place,
    deposits_closed_in_sim,
)

KILLS_PER_RUN = 10
# With a latch that takes a while to let the door go, more kills land between the
# pulse and the door opening: the lock fired, and the restart must not fire it again.
SLOW_LATCH_S = 0.25


@pytest.mark.parametrize(
    ("seed", "open_delay_s"),
    [(1101, 0.0), (2202, 0.0), (3303, 0.0), (4404, SLOW_LATCH_S), (5505, SLOW_LATCH_S)],
)
def test_kill_9_during_deposits_and_pickups_breaks_no_invariant(
    seed: int, open_delay_s: float
) -> None:
    replay = f"--seed {seed} --kills {KILLS_PER_RUN} --per-dir {KILLS_PER_RUN}"
    print(f"crash run seed {seed}; replay: tools/crashloop.py {replay} --open-delay {open_delay_s}")
    with running_daemon(open_delay_s=open_delay_s, **DAEMON_CONFIG) as daemon:
        run = CrashRun(daemon, seed)
        failures = []
        for _ in range(KILLS_PER_RUN):
            report = run.kill_once()
            failures += [f"kill {report.number} ({report.mode}): {v}" for v in report.violations]

        assert failures == [], f"seed {seed}"
        assert run.ledger.kept, "no deposit finished before a kill: the run proved little"
        assert daemon.stop() == 0


@pytest.mark.parametrize(("seed", "open_delay_s"), [(6606, 0.0), (7707, SLOW_LATCH_S)])
def test_kill_9_during_every_journey_on_emulated_kerong_boards_breaks_no_invariant(
    seed: int, open_delay_s: float
) -> None:
    # Deposits, pickups, reopen, doesn't-fit, expiry with returns and self-tests, on
    # the real serial driver; the emulated boards stay up while the daemon dies.
    replay = f"--mixed --board kerong --seed {seed} --kills {KILLS_PER_RUN}"
    print(f"crash run seed {seed}; replay: tools/crashloop.py {replay} --open-delay {open_delay_s}")
    root = Path(tempfile.mkdtemp(prefix="lk-", dir="/tmp"))
    daemon, sim = kerong_daemon(root, open_delay_s)
    try:
        daemon.start()
        run = CrashRun(daemon, seed, mixed=True)
        failures = []
        for _ in range(KILLS_PER_RUN):
            report = run.kill_once()
            failures += [f"kill {report.number} ({report.mode}): {v}" for v in report.violations]
        assert failures == [], f"seed {seed}"
        assert daemon.stop() == 0
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait(10)
        sim.close()
        shutil.rmtree(root, ignore_errors=True)


def _view(parcels: list[tuple[str, str, str | None]], comps: dict[str, str]) -> StoreView:
    """A store with ``(barcode, state, compartment)`` parcels and ``{id: state}``."""
    return StoreView(
        [{"id": i, "barcode": b, "state": s, "compartment_id": c}
         for i, (b, s, c) in enumerate(parcels, start=1)],
        {cid: {"id": cid, "state": state} for cid, state in comps.items()},
        [],
    )  # fmt: skip


def test_invariant_checks_flag_each_broken_rule() -> None:
    """The checks above are only worth their silence if they speak up: one broken store
    (or log) per rule, each named."""
    fine = _view([("P1", "STORED", "A01")], {"A01": "OCCUPIED", "A02": "AVAILABLE"})
    assert check_parcels_in_place(fine) == []
    broken = {
        "has no compartment": _view([("P1", "STORED", None)], {}),
        "which is AVAILABLE": _view([("P1", "STORED", "A01")], {"A01": "AVAILABLE"}),
        "holds 2 parcels": _view(
            [("P1", "STORED", "A01"), ("P2", "EXPIRED", "A01")], {"A01": "OCCUPIED"}
        ),
        "OCCUPIED but holds no live parcel": _view([], {"A01": "OCCUPIED"}),
        "RESERVED without a live deposit": _view([], {"A01": "RESERVED"}),
        "left without a pickup": _view([("P1", "PICKED_UP", "A01")], {"A01": "AVAILABLE"}),
    }
    for words, view in broken.items():
        assert any(words in v for v in check_parcels_in_place(view)), words

    ledger = Ledger(kept={"P1"}, picked={"P2"}, requested={"P1", "P2"})
    view = _view([("P1", "ANNOUNCED", None), ("P2", "STORED", "A02"), ("P3", "STORED", "A03")],
                 {})  # fmt: skip
    assert check_ledger(view, ledger) == [
        "deposit P1 whose door closed is ANNOUNCED",
        "pickup of P2 whose door closed left the parcel STORED",
        "parcel P3 was never deposited",
    ]

    fires = ["1.0 bank 1 A01", "2.0 bank 2 A02"]
    assert check_no_fire_by_itself(fires, fires) == []
    assert check_no_fire_by_itself(fires[:1], fires) == [
        "lock fired by itself after restart: 2.0 bank 2 A02"
    ]
    assert check_fires_had_intents(fires, _view([], {})) != []
    assert check_outputs_off({"A01": {"energised": True}}) == ["lock of A01 is energised"]


def test_a_deposit_whose_door_closed_in_the_simulator_is_held_to_being_kept() -> None:
    """The API may not have answered before the kill: the simulator's door history says
    which deposits went in, and the journal whether the kiosk saw their door open."""

    def deposit(op_id: int, cid: str, barcode: str, status: str, **more: str) -> dict[str, Any]:
        details = json.dumps({"barcode": barcode, **more})
        return {"id": op_id, "purpose": "deposit", "status": status, "compartment_id": cid,
                "created_at": 10.0, "details": details}  # fmt: skip

    at_kill = StoreView([], {}, [
        deposit(1, "A01", "SEEN-OPEN", "OPENED"),
        deposit(2, "A02", "NOT-SEEN", "UNLOCK_SENT"),
        deposit(3, "A03", "DID-NOT-FIT", "OPENED", unused="does not fit"),
        deposit(4, "A04", "STILL-OPEN", "OPENED"),
    ])  # fmt: skip
    doors = [(9.0, "A04", "closed", True), (11.0, "A04", "opened", False)]
    doors += [(11.0, cid, "opened", False) for cid in ("A01", "A02", "A03")]
    doors += [(12.0, cid, "closed", True) for cid in ("A01", "A02", "A03")]

    kept, to_check = deposits_closed_in_sim(at_kill, doors)

    assert (kept, to_check) == ({"SEEN-OPEN"}, {"A02": "NOT-SEEN"})
    lost = _view([], {"A02": "AVAILABLE"})
    lost.compartments["A02"]["oos_code"] = None
    assert check_closed_deposits(lost, to_check, "check it") == [
        "deposit NOT-SEEN closed in A02 in the simulator, neither kept nor held for a check"
    ]
    held = _view([], {"A02": "OUT_OF_SERVICE"})
    held.compartments["A02"]["oos_code"] = "check it"
    assert check_closed_deposits(held, to_check, "check it") == []
