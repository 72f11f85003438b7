"""The simulated bank behaves like doors, locks and a person would."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.base import BoardSpec, ChannelSpec, DoorState
from drivers.errors import BoardOffline
from drivers.sim import SimDriver
from hw_sim.control import SimControl, SimControlError, handle_request, start_control_server
from hw_sim.model import Bank, BoardDead, UnknownCompartment, reset_shared_banks, shared_bank

LAYOUT = {"A01": ("top", 1), "A02": ("top", 2), "B01": ("bottom", 1)}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def bank(clock: FakeClock) -> Bank:
    return Bank(LAYOUT, close_delay_s=2.0, clock=clock)


@pytest.fixture
def short_dir() -> Iterator[Path]:
    # Unix socket paths are limited to 108 bytes; pytest's tmp_path can be longer.
    with tempfile.TemporaryDirectory(prefix="sim-", dir="/tmp") as name:
        yield Path(name)


@pytest.fixture(autouse=True)
def _fresh_shared_banks() -> Iterator[None]:
    reset_shared_banks()
    yield
    reset_shared_banks()


def door_open(bank: Bank, cid: str) -> bool:
    return bool(bank.snapshot()[cid]["sensor_open"])


def test_doors_start_closed_and_latched(bank: Bank) -> None:
    assert bank.sample("top") == {1: (False, False), 2: (False, False)}
    assert all(c["latched"] for c in bank.snapshot().values())


def test_pulse_pops_the_door_open(bank: Bank) -> None:
    bank.energise("top", 1, 0.5)
    assert bank.sample("top")[1] == (True, False)
    assert bank.sample("top")[2] == (False, False)


def test_jammed_lock_does_not_open_door(bank: Bank) -> None:
    bank.jam("A01")
    bank.energise("top", 1, 0.5)
    assert not door_open(bank, "A01")
    assert bank.fire_counts()["A01"] == 1
    bank.unjam("A01")
    bank.energise("top", 1, 0.5)
    assert door_open(bank, "A01")


def test_coil_switches_itself_off_after_the_pulse(bank: Bank, clock: FakeClock) -> None:
    bank.energise("top", 1, 0.5)
    assert bank.snapshot()["A01"]["energised"]
    clock.advance(0.6)
    assert not bank.snapshot()["A01"]["energised"]


def test_auto_person_takes_the_parcel_and_closes_the_door(bank: Bank, clock: FakeClock) -> None:
    bank.set_item("A01", True)
    bank.energise("top", 1, 0.5)
    clock.advance(1.1)
    assert bank.sample("top")[1] == (True, False)  # parcel taken, door still open
    clock.advance(1.0)
    assert bank.sample("top")[1] == (False, False)
    assert bank.snapshot()["A01"]["latched"]


def test_auto_person_puts_a_parcel_into_an_empty_compartment(bank: Bank, clock: FakeClock) -> None:
    bank.energise("top", 2, 0.5)
    clock.advance(2.0)
    assert bank.sample("top")[2] == (False, True)


def test_person_who_does_not_handle_items_only_closes(clock: FakeClock) -> None:
    bank = Bank(LAYOUT, person_handles_items=False, clock=clock)
    bank.energise("top", 1, 0.5)
    clock.advance(2.0)
    assert bank.sample("top")[1] == (False, False)


def test_door_left_open_is_never_closed_by_the_person(bank: Bank, clock: FakeClock) -> None:
    bank.leave_open("A01")
    bank.energise("top", 1, 0.5)
    clock.advance(60)
    assert door_open(bank, "A01")
    bank.leave_open("A01", False)  # the person comes back
    clock.advance(2.0)
    assert not door_open(bank, "A01")


def test_manual_person_does_nothing_by_itself(clock: FakeClock) -> None:
    bank = Bank(LAYOUT, person="manual", clock=clock)
    bank.energise("top", 1, 0.5)
    clock.advance(60)
    assert door_open(bank, "A01")
    bank.close_door("A01")
    assert not door_open(bank, "A01")
    bank.open_door("A02")
    assert bank.sample("top")[2] == (True, False)


def test_forced_door_opens_without_a_pulse_and_stays_open(bank: Bank, clock: FakeClock) -> None:
    bank.force_open("B01")
    clock.advance(60)
    state = bank.snapshot()["B01"]
    assert state["door_open"] and state["fires"] == 0 and state["forced"] == 1


def test_open_delay_holds_the_door_until_it_passes(clock: FakeClock) -> None:
    bank = Bank(LAYOUT, open_delay_s=0.3, clock=clock)
    bank.energise("top", 1, 0.1)
    assert not door_open(bank, "A01")
    clock.advance(0.3)
    assert door_open(bank, "A01")


def test_door_closed_before_a_delayed_pop_stays_shut(clock: FakeClock) -> None:
    bank = Bank(LAYOUT, person="manual", open_delay_s=0.3, clock=clock)
    bank.energise("top", 1, 0.1)
    bank.close_door("A01")  # the latch catches again
    clock.advance(1.0)
    assert not door_open(bank, "A01")


def test_flapping_sensor_toggles_while_the_door_stays_put(bank: Bank, clock: FakeClock) -> None:
    bank.flap("A01", seconds=0.5, hz=20)
    clock.advance(0.01)
    seen = []
    for _ in range(10):
        seen.append(bank.sample("top")[1][0])
        clock.advance(0.05)
    assert seen == [True, False] * 5
    assert not bank.snapshot()["A01"]["door_open"]
    assert bank.sample("top")[1][0] is False


def test_dead_board_raises_on_every_access(bank: Bank) -> None:
    bank.kill_board("top")
    for access in (
        lambda: bank.sample("top"),
        lambda: bank.energise("top", 1, 0.5),
        lambda: bank.all_off("top"),
    ):
        with pytest.raises(BoardDead):
            access()
    assert bank.sample("bottom") == {1: (False, False)}
    assert bank.fire_counts()["A01"] == 0
    bank.revive_board("top")
    assert bank.sample("top")[1] == (False, False)


def test_unknown_compartment_is_refused(bank: Bank) -> None:
    with pytest.raises(UnknownCompartment):
        bank.jam("Z99")
    with pytest.raises(UnknownCompartment):
        bank.energise("top", 9, 0.5)


def test_one_lock_cannot_drive_two_compartments(bank: Bank) -> None:
    bank.add_compartment("A01", "top", 1)  # the same mapping again is fine
    with pytest.raises(ValueError, match="already drives"):
        bank.add_compartment("A99", "top", 1)


def test_fire_is_counted_and_logged(clock: FakeClock, tmp_path: Path) -> None:
    log = tmp_path / "fires.log"
    bank = Bank(LAYOUT, fire_log=log, clock=clock)
    bank.energise("top", 2, 0.5)
    bank.energise("bottom", 1, 0.5)
    assert bank.fire_counts() == {"A01": 0, "A02": 1, "B01": 1}
    lines = [line.split()[1:] for line in log.read_text().splitlines()]
    assert lines == [["top", "2", "A02"], ["bottom", "1", "B01"]]


def test_each_door_opening_and_closing_is_logged_beside_the_fires(
    clock: FakeClock, tmp_path: Path
) -> None:
    bank = Bank(LAYOUT, close_delay_s=2.0, fire_log=tmp_path / "sim-fires.log", clock=clock)
    bank.energise("top", 1, 0.5)  # the person puts a parcel in and closes the door
    clock.advance(2.1)
    bank.tick()
    bank.force_open("A02")

    lines = [line.split()[1:] for line in (tmp_path / "sim-doors.log").read_text().splitlines()]
    assert lines == [
        ["A01", "opened", "item=0"],
        ["A01", "closed", "item=1"],
        ["A02", "opened", "item=0"],
    ]


def test_state_survives_a_restart_of_the_model(clock: FakeClock, tmp_path: Path) -> None:
    state = tmp_path / "sim-state.json"
    bank = Bank(LAYOUT, person="manual", state_file=state, clock=clock)
    bank.set_item("A01", True)
    bank.jam("A02")
    bank.leave_open("B01")
    bank.force_open("B01")
    del bank  # as after kill -9: nothing is flushed on the way out

    again = Bank(LAYOUT, person="manual", state_file=state, clock=clock)
    snap = again.snapshot()
    assert snap["A01"]["item"] and not snap["A01"]["door_open"]
    assert snap["A02"]["jammed"]
    assert snap["B01"]["door_open"] and snap["B01"]["leave_open"]
    assert json.loads(state.read_text())["version"] == 1


def test_door_found_open_at_load_is_closed_by_the_auto_person(
    clock: FakeClock, tmp_path: Path
) -> None:
    state = tmp_path / "sim-state.json"
    Bank(LAYOUT, person="manual", state_file=state, clock=clock).open_door("A01")
    bank = Bank(LAYOUT, state_file=state, clock=clock)
    assert door_open(bank, "A01")
    clock.advance(2.0)
    assert not door_open(bank, "A01")
    assert not bank.snapshot()["A01"]["item"]  # nobody came for a parcel


def test_state_of_compartments_not_yet_added_is_kept(clock: FakeClock, tmp_path: Path) -> None:
    state = tmp_path / "sim-state.json"
    Bank(LAYOUT, state_file=state, clock=clock).set_item("B01", True)
    top_only = Bank({"A01": ("top", 1)}, state_file=state, clock=clock)
    top_only.set_item("A01", True)  # saves while B01 is not registered
    bank = Bank(state_file=state, clock=clock)
    bank.add_compartment("B01", "bottom", 1)
    assert bank.snapshot()["B01"]["item"]


def test_shared_bank_is_one_per_state_file(tmp_path: Path) -> None:
    assert shared_bank() is shared_bank()
    first = shared_bank(tmp_path / "a.json")
    assert shared_bank(str(tmp_path / "a.json")) is first
    assert shared_bank(tmp_path / "b.json") is not first


def test_control_request_errors_are_replies_not_exceptions(bank: Bank) -> None:
    assert handle_request(bank, '{"op": "jam", "compartment": "A01"}') == {
        "ok": True,
        "result": None,
    }
    assert handle_request(bank, '{"op": "jam"}')["error"] == "missing field 'compartment'"
    assert "unknown op" in handle_request(bank, '{"op": "explode"}')["error"]
    assert not handle_request(bank, "not json")["ok"]
    reply = handle_request(bank, '{"op": "jam", "compartment": "Z99"}')
    assert reply == {"ok": False, "error": "unknown compartment 'Z99'"}


def test_faults_can_be_injected_from_another_process(bank: Bank, short_dir: Path) -> None:
    path = short_dir / "sim.sock"
    server = start_control_server(bank, path)
    try:
        assert path.stat().st_mode & 0o777 == 0o660
        control = SimControl(path)
        assert control.ping()
        control.jam("A01")
        control.set_item("A02", True)
        control.kill_board("bottom")
        snap = control.snapshot()
        assert snap["A01"]["jammed"] and snap["A02"]["item"] and snap["B01"]["board_dead"]
        assert control.fire_counts() == {"A01": 0, "A02": 0, "B01": 0}
        with pytest.raises(SimControlError, match="unknown compartment"):
            control.open_door("Z99")
    finally:
        server.stop()
    assert not path.exists()


def test_stale_socket_file_is_replaced(bank: Bank, short_dir: Path) -> None:
    path = short_dir / "sim.sock"
    start_control_server(bank, path).server_close()  # a crash leaves the file behind
    assert path.exists()
    server = start_control_server(bank, path)
    try:
        assert SimControl(path).ping()
    finally:
        server.stop()


def sim_spec(name: str, data_dir: Path | None, **options: object) -> BoardSpec:
    channels = tuple(ChannelSpec(lock, f"{name[0].upper()}{lock:02d}") for lock in (1, 2))
    return BoardSpec(name, "sim", channels, options=options, data_dir=data_dir)


def test_sim_boards_of_one_config_share_a_bank_and_its_socket(short_dir: Path) -> None:
    top = SimDriver(sim_spec("top", short_dir, person="manual"))
    bottom = SimDriver(sim_spec("bottom", short_dir))
    top.open()
    bottom.open()
    assert top.bank is bottom.bank
    control = SimControl(short_dir / "sim.sock", timeout=0.5)
    control.open_door("B02")
    assert bottom.read()[2].door is DoorState.OPEN
    top.close()
    assert control.ping()  # bottom still holds the socket open
    bottom.close()
    bottom.close()
    assert not (short_dir / "sim.sock").exists()
    assert (short_dir / "sim-state.json").exists()


def test_sim_board_logs_its_fires(short_dir: Path) -> None:
    with SimDriver(sim_spec("top", short_dir)) as driver:
        driver.pulse(2, 0.5)
        assert driver.stats()["pulses"] == 1
    assert (short_dir / "sim-fires.log").read_text().split()[1:] == ["top", "2", "T02"]


def test_dead_sim_board_is_offline_and_counted() -> None:
    driver = SimDriver(sim_spec("top", None))
    with driver:
        assert driver.bank is not None
        driver.bank.kill_board("top")
        with pytest.raises(BoardOffline, match="not answering"):
            driver.read()
        assert driver.stats()["errors"] == 1


def test_a_coil_told_on_again_while_on_is_one_unlock_that_lasts_longer(
    bank: Bank, clock: FakeClock
) -> None:
    bank.energise("top", 1, 0.5)
    clock.advance(0.2)
    bank.energise("top", 1, 0.5)  # a relay board's flash sent again after a lost echo
    assert bank.fire_counts()["A01"] == 1
    assert bank.coil_history("top") == [(1, 1000.0, 1000.7)]
    clock.advance(0.6)
    bank.energise("top", 1, 0.5)  # off by now: a new fire
    assert bank.fire_counts()["A01"] == 2
