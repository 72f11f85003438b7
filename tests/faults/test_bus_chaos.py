"""A noisy RS-485 bus and a board that falls silent, under deposits and pickups.

Once with two emulated Kerong boards, once with two Modbus relay (D) boards, each pair
on one bus at 19200 baud, paced at the wire time; 5 % of the replies have a bad
checksum (CRC), 2 % are lost, 5 % come after line noise and 2 % come too late; one board
is silent for ``CHAOS_SILENCE_S`` seconds (10 by default) in the middle of ``CHAOS_OPS``
operations (25). The daemon polls at 10 Hz and has the product's offline rule (3 missed
polls and 1 s without a valid reply); its alarm's grace is 5 s here (10 s by default) so
that the silence outlasts it. :mod:`testkit.chaos` runs it and says what each
check means.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.config import load_config
from testkit.chaos import ChaosPlan, ChaosReport, ChaosRun, chaos_config

OPS = int(os.environ.get("CHAOS_OPS", "25"))
SILENCE_S = float(os.environ.get("CHAOS_SILENCE_S", "10"))
GRACE_S = 5.0
PLANS = {
    "kerong": ChaosPlan(ops=OPS, silence_s=SILENCE_S, offline_alarm_after_s=GRACE_S),
    # A Modbus poll is 8 + 6 bytes (7.3 ms at 19200 baud) and the 2 ms of silence
    # before it: 20 ms for a reply leaves a poll's 50 ms room for a second attempt.
    # Two retries, as config/modbus.toml has them.
    "modbus": ChaosPlan(
        bus="modbus",
        ops=OPS,
        silence_s=SILENCE_S,
        timeout_s=0.02,
        late_by_s=0.04,
        retries=2,
        offline_alarm_after_s=GRACE_S,
    ),
}


@pytest.fixture(scope="module", params=sorted(PLANS))
def report(request: pytest.FixtureRequest) -> Iterator[ChaosReport]:
    # Short paths: a Unix socket path must stay under 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="lk-chaos-", dir="/tmp"))
    run = ChaosRun(root, PLANS[request.param])
    try:
        yield run.start().run()
    finally:
        run.close()
        shutil.rmtree(root, ignore_errors=True)


def test_the_faults_really_happened_on_the_wire(report: ChaosReport) -> None:
    wire = report.wire
    assert wire["replies_dropped"] > 0 and wire["replies_late"] > 0
    # The silence went unanswered.
    assert wire["requests_seen"] > wire["replies_sent"] + wire["replies_dropped"]


def test_no_wrong_door_is_ever_opened(report: ChaosReport) -> None:
    assert report.wrong_doors == []


def test_no_parcel_is_lost(report: ChaosReport) -> None:
    assert report.lost == []
    assert report.outcomes["deposit stored"] > 0 and report.outcomes["pickup done"] > 0


def test_every_operation_ends_in_an_outcome_or_a_designed_refusal(report: ChaosReport) -> None:
    assert report.unclear == []
    assert sum(report.outcomes.values()) == report.plan.ops


def test_the_silent_board_is_offline_after_a_second_alarmed_past_its_grace_and_back_at_once(
    report: ChaosReport,
) -> None:
    # Offline 0.8-1.3 s after the silence began (1 s without a valid reply, within a
    # few periods), its alarm within the grace time after that, back within 2 periods.
    [silence] = report.silences
    assert report.late_verdicts() == [], silence
    assert silence.alarm_after_s is not None


def test_noise_alone_never_raises_an_offline_alarm(report: ChaosReport) -> None:
    assert report.false_alarms == []


def test_noise_alone_never_takes_a_board_offline(report: ChaosReport) -> None:
    assert report.false_offlines == []


@pytest.mark.parametrize("bus", sorted(PLANS))
def test_a_compartment_picked_up_is_free_for_the_next_deposit_at_once(
    bus: str, tmp_path: Path
) -> None:
    """A long run (bench/bus_chaos.py) stores and picks up thousands of parcels in 16
    compartments: a window to reopen each door after its pickup would hold them all, and
    the run would measure refusals for want of a compartment instead of the bus."""
    path = tmp_path / "kiosk.toml"
    path.write_text(chaos_config(tmp_path / "data", PLANS[bus]))
    assert load_config(path).doors.reopen_after_pickup_s == 0
