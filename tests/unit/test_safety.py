"""The safety layer keeps its rules whatever the layers above ask of it."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from drivers.base import BoardSpec, ChannelReading, ChannelSpec, DoorState, Driver, create_driver
from drivers.errors import BoardOffline, DriverError
from drivers.safety import MAX_PULSE_S, LockSafety, UnlockResult, safe_off

PULSE = 0.02
GAP = 0.03


@dataclass(frozen=True)
class Event:
    board: str
    what: str
    lock: int = 0
    seconds: float = 0.0
    start: float = 0.0
    end: float = 0.0


class Journal:
    """What every fake board did, in order, across boards."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def add(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    def of(self, board: str) -> list[str]:
        return [e.what for e in self.events if e.board == board]

    def pulses(self) -> list[Event]:
        return [e for e in self.events if e.what == "pulse"]


class FakeDriver(Driver):
    """Records every call; a pulse takes its time when the host times it.

    ``on_s``: a board that times the pulse itself keeps the coil on this long, whatever it
    was asked (a Kerong board's energise time); the journal records the coil's time.
    ``resend_after_s``: such a board's command is sent again that much later (a Modbus
    flash after a lost echo), which starts the board's timer again.
    """

    def __init__(
        self,
        name: str,
        journal: Journal,
        group: str = "main",
        *,
        board_times_pulse: bool = False,
        fail_open: bool = False,
        on_s: float | None = None,
        resend_after_s: float = 0.0,
    ) -> None:
        channels = tuple(ChannelSpec(lock, f"{name}{lock}") for lock in range(1, 17))
        super().__init__(BoardSpec(name, "fake", channels, power_group=group))
        self.board_times_pulse = board_times_pulse
        self.on_s = on_s
        self.resend_after_s = resend_after_s
        self.journal = journal
        self.fail_open = fail_open
        self.fail_pulse = False
        self.busy = threading.Lock()
        self.overlaps = 0

    def _enter(self) -> None:
        if not self.busy.acquire(blocking=False):
            self.overlaps += 1
            self.busy.acquire()

    def open(self) -> None:
        self.journal.add(Event(self.name, "open"))
        if self.fail_open:
            raise DriverError(self.name, "no such port /dev/ttyUSB9")

    def close(self) -> None:
        self.journal.add(Event(self.name, "close"))

    def all_off(self) -> None:
        self.journal.add(Event(self.name, "all_off"))

    def pulse(self, lock: int, seconds: float) -> None:
        self._enter()
        try:
            start = time.monotonic()
            if self.fail_pulse:
                raise DriverError(self.name, "no answer to unlock")
            if not self.board_times_pulse:
                time.sleep(seconds)
            elif self.resend_after_s:
                time.sleep(self.resend_after_s)
                start = time.monotonic()  # the board's coil runs from the command sent again
            end = time.monotonic()
            seconds = self.pulse_length(seconds)
            self.journal.add(Event(self.name, "pulse", lock, seconds, start, end))
        finally:
            self.busy.release()

    def pulse_length(self, seconds: float) -> float:
        return seconds if self.on_s is None else self.on_s

    def read(self) -> dict[int, ChannelReading]:
        self._enter()
        try:
            time.sleep(0.001)
            return {c.lock: ChannelReading(DoorState.CLOSED) for c in self.spec.channels}
        finally:
            self.busy.release()


@pytest.fixture
def journal() -> Journal:
    return Journal()


@pytest.fixture
def make_safety(journal: Journal) -> Iterator[Any]:
    made: list[LockSafety] = []

    def make(*drivers: Driver, **kwargs: Any) -> LockSafety:
        kwargs.setdefault("pulse_s", PULSE)
        kwargs.setdefault("gap_s", GAP)
        safety = LockSafety(list(drivers), **kwargs)
        safety.start()
        made.append(safety)
        return safety

    yield make
    for safety in made:
        safety.close()


def results(futures: list[Any]) -> list[UnlockResult]:
    return [f.result(timeout=5) for f in futures]


def test_all_outputs_off_at_start_and_close(journal: Journal, make_safety: Any) -> None:
    safety = make_safety(FakeDriver("top", journal), FakeDriver("bottom", journal))
    assert journal.of("top") == ["open", "all_off"]
    safety.close()
    assert journal.of("top") == ["open", "all_off", "all_off", "close"]
    assert journal.of("bottom") == ["open", "all_off", "all_off", "close"]


def test_start_and_close_are_idempotent(journal: Journal, make_safety: Any) -> None:
    safety = make_safety(FakeDriver("top", journal))
    safety.start()
    safety.close()
    safety.close()
    assert journal.of("top") == ["open", "all_off", "all_off", "close"]


def test_board_that_fails_to_open_does_not_stop_the_others(
    journal: Journal, make_safety: Any
) -> None:
    safety = make_safety(FakeDriver("top", journal, fail_open=True), FakeDriver("bottom", journal))
    status = safety.status()
    assert not status["top"].is_open and "ttyUSB9" in (status["top"].error or "")
    assert status["bottom"].is_open and status["bottom"].error is None
    assert safety.unlock("bottom", 3).result(timeout=5).ok
    failed = safety.unlock("top", 3).result(timeout=5)
    assert not failed.ok and "not connected" in (failed.error or "")
    with pytest.raises(BoardOffline, match="ttyUSB9"):
        safety.read("top")


def test_reopen_brings_a_board_back(journal: Journal, make_safety: Any) -> None:
    top = FakeDriver("top", journal, fail_open=True)
    safety = make_safety(top)
    with pytest.raises(DriverError):
        safety.reopen("top")
    top.fail_open = False
    safety.reopen("top")
    assert safety.status()["top"].is_open
    assert journal.of("top")[-3:] == ["close", "open", "all_off"]
    assert len(safety.read("top")) == 16


def test_pulse_is_clamped_to_hard_cap(journal: Journal, make_safety: Any) -> None:
    # One power group each, so no fire waits for another's 2 s pulse to end.
    boards = [FakeDriver(name, journal, name, board_times_pulse=True) for name in "abc"]
    safety = make_safety(*boards, pulse_s=10.0)
    assert safety.pulse_s == MAX_PULSE_S
    safety.unlock("a", 1).result(timeout=5)
    safety.unlock("b", 1, pulse_s=99.0).result(timeout=5)
    safety.pulse_s = 60.0  # someone pokes the attribute: still clamped at fire time
    safety.unlock("c", 1).result(timeout=5)
    assert [p.seconds for p in journal.pulses()] == [MAX_PULSE_S] * 3


def test_unlock_requests_run_in_arrival_order(journal: Journal, make_safety: Any) -> None:
    safety = make_safety(FakeDriver("top", journal))
    locks = [5, 1, 16, 2, 9]
    done = results([safety.unlock("top", lock) for lock in locks])
    assert [p.lock for p in journal.pulses()] == locks
    assert all(r.ok for r in done)
    assert [r.fired_at for r in done] == sorted(r.fired_at for r in done)


def test_one_lock_at_a_time_within_a_power_group(journal: Journal, make_safety: Any) -> None:
    safety = make_safety(FakeDriver("top", journal), FakeDriver("bottom", journal))
    results([safety.unlock(board, 1) for board in ("top", "bottom", "top", "bottom")])
    pulses = journal.pulses()
    assert [p.board for p in pulses] == ["top", "bottom", "top", "bottom"]
    for earlier, later in itertools.pairwise(pulses):
        assert later.start >= earlier.end


def test_gap_between_fires(journal: Journal, make_safety: Any) -> None:
    safety = make_safety(FakeDriver("top", journal), FakeDriver("bottom", journal))
    results([safety.unlock(board, 1) for board in ("top", "bottom", "top")])
    pulses = journal.pulses()
    for earlier, later in itertools.pairwise(pulses):
        assert later.start - earlier.end >= GAP


def test_gap_counts_from_the_end_of_a_board_timed_pulse(journal: Journal, make_safety: Any) -> None:
    safety = make_safety(FakeDriver("top", journal, board_times_pulse=True))
    first, second = results([safety.unlock("top", 1), safety.unlock("top", 2)])
    assert second.fired_at - first.fired_at >= PULSE + GAP


def test_power_groups_fire_independently(journal: Journal, make_safety: Any) -> None:
    safety = make_safety(
        FakeDriver("top", journal, "left"), FakeDriver("bottom", journal, "right"), pulse_s=0.3
    )
    slow = safety.unlock("top", 1)
    quick = safety.unlock("bottom", 1)
    results([slow, quick])
    top, bottom = sorted(journal.pulses(), key=lambda p: p.board != "top")
    assert bottom.start < top.end


def coil_on(pulse: Event) -> tuple[float, float]:
    """When the pulse's coil was on: the host's own timing, or the board's from the start."""
    return pulse.start, max(pulse.end, pulse.start + pulse.seconds)


def test_a_board_timed_pulse_longer_than_asked_holds_back_the_next_fire(
    journal: Journal, make_safety: Any
) -> None:
    kerong = FakeDriver("kerong", journal, board_times_pulse=True, on_s=0.15)
    safety = make_safety(kerong, FakeDriver("gpio", journal))
    first, second = results([safety.unlock("kerong", 1), safety.unlock("gpio", 1)])
    assert second.fired_at - first.fired_at >= 0.15 + GAP


def test_a_board_timed_pulse_sent_again_holds_back_the_next_fire_from_the_resend(
    journal: Journal, make_safety: Any
) -> None:
    modbus = FakeDriver("modbus", journal, board_times_pulse=True, resend_after_s=0.1)
    safety = make_safety(modbus, FakeDriver("gpio", journal))
    results([safety.unlock("modbus", 1), safety.unlock("gpio", 1)])
    flash, gpio = journal.pulses()
    assert gpio.start >= flash.start + flash.seconds + GAP


def test_one_coil_at_a_time_per_power_group_across_drivers_but_groups_in_parallel(
    journal: Journal, make_safety: Any
) -> None:
    # Per supply: a host-timed board (GPIO), one whose board times a longer pulse than
    # asked (Kerong) and one that times what it is asked (Modbus flash).
    boards = [
        driver
        for group in ("left", "right")
        for driver in (
            FakeDriver(f"{group}-gpio", journal, group),
            FakeDriver(f"{group}-kerong", journal, group, board_times_pulse=True, on_s=0.06),
            FakeDriver(f"{group}-modbus", journal, group, board_times_pulse=True),
        )
    ]
    safety = make_safety(*boards)
    requests = [(board.name, lock) for lock in (1, 2, 3) for board in boards]
    assert all(r.ok for r in results([safety.unlock(name, lock) for name, lock in requests]))
    by_group: dict[str, list[Event]] = {}
    for pulse in journal.pulses():
        by_group.setdefault(pulse.board.split("-")[0], []).append(pulse)
    for group, pulses in by_group.items():
        assert len(pulses) == 9, group
        for earlier, later in itertools.pairwise(sorted(pulses, key=lambda p: p.start)):
            assert later.start - coil_on(earlier)[1] >= GAP * 0.9, (group, earlier, later)
    left = [coil_on(p) for p in by_group["left"]]
    right = [coil_on(p) for p in by_group["right"]]
    assert any(a < d and c < b for a, b in left for c, d in right)  # in parallel


def test_power_groups_from_the_mapping_override_the_spec(
    journal: Journal, make_safety: Any
) -> None:
    safety = make_safety(
        FakeDriver("top", journal, "left"),
        FakeDriver("bottom", journal, "right"),
        power_groups={"top": "shared", "bottom": "shared"},
    )
    assert {s.power_group for s in safety.status().values()} == {"shared"}


def test_driver_error_becomes_a_failed_result(journal: Journal, make_safety: Any) -> None:
    top = FakeDriver("top", journal)
    safety = make_safety(top)
    top.fail_pulse = True
    failed = safety.unlock("top", 4).result(timeout=5)
    assert not failed.ok and failed.error == "board 'top': no answer to unlock"
    top.fail_pulse = False
    assert safety.unlock("top", 4).result(timeout=5).ok  # the worker lives on


def test_host_timed_board_gets_all_off_after_every_pulse(
    journal: Journal, make_safety: Any
) -> None:
    safety = make_safety(
        FakeDriver("host", journal), FakeDriver("board", journal, board_times_pulse=True)
    )
    results([safety.unlock("host", 1), safety.unlock("board", 1)])
    assert journal.of("host") == ["open", "all_off", "pulse", "all_off"]
    assert journal.of("board") == ["open", "all_off", "pulse"]


def test_pending_unlocks_fail_with_shutting_down_on_close(
    journal: Journal, make_safety: Any
) -> None:
    safety = make_safety(FakeDriver("top", journal), pulse_s=0.1)
    futures = [safety.unlock("top", lock) for lock in (1, 2, 3)]
    time.sleep(0.03)  # the first pulse is on
    safety.close()
    first, *rest = results(futures)
    assert first.ok
    assert [(r.ok, r.error) for r in rest] == [(False, "shutting down")] * 2
    assert not safety.unlock("top", 1).result(timeout=1).ok
    assert journal.of("top")[-2:] == ["all_off", "close"]


def test_cancelled_request_does_not_fire(journal: Journal, make_safety: Any) -> None:
    safety = make_safety(FakeDriver("top", journal), pulse_s=0.1)
    first = safety.unlock("top", 1)
    second = safety.unlock("top", 2)
    assert second.cancel()
    first.result(timeout=5)
    safety.unlock("top", 3).result(timeout=5)
    assert [p.lock for p in journal.pulses()] == [1, 3]


def test_a_request_dropped_while_it_waits_out_the_gap_does_not_fire(
    journal: Journal, make_safety: Any
) -> None:
    safety = make_safety(FakeDriver("top", journal), pulse_s=0.05, gap_s=0.5)
    safety.unlock("top", 1).result(timeout=5)
    late = safety.unlock("top", 2)  # the worker takes it, then waits out the gap
    time.sleep(0.1)
    assert late.cancel()  # e.g. a reopen whose door was closed meanwhile
    safety.unlock("top", 3).result(timeout=5)
    assert [p.lock for p in journal.pulses()] == [1, 3]


def test_a_request_its_caller_no_longer_wants_at_its_turn_does_not_fire(
    journal: Journal, make_safety: Any
) -> None:
    # The door closed at the very end of the gap: the caller's cancel would come one
    # event-loop turn late, so the worker asks at the last moment.
    safety = make_safety(FakeDriver("top", journal), pulse_s=0.05, gap_s=0.3)
    safety.unlock("top", 1).result(timeout=5)
    door_closed = threading.Event()
    late = safety.unlock("top", 2, dropped=door_closed.is_set)
    time.sleep(0.1)
    door_closed.set()
    safety.unlock("top", 3).result(timeout=5)
    assert late.cancelled()
    assert [p.lock for p in journal.pulses()] == [1, 3]
    wanted = safety.unlock("top", 4, dropped=lambda: False)
    assert wanted.result(timeout=5).ok


def test_reads_and_pulses_never_overlap_on_one_board(journal: Journal, make_safety: Any) -> None:
    top = FakeDriver("top", journal)
    safety = make_safety(top, gap_s=0.0)
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            safety.read("top")

    reader = threading.Thread(target=poll)
    reader.start()
    try:
        results([safety.unlock("top", lock) for lock in range(1, 6)])
    finally:
        stop.set()
        reader.join()
    assert top.overlaps == 0


def test_unknown_board_is_refused_at_once(journal: Journal, make_safety: Any) -> None:
    safety = make_safety(FakeDriver("top", journal))
    with pytest.raises(DriverError, match="no such board"):
        safety.unlock("nowhere", 1)


def test_safe_off_reports_each_board(journal: Journal) -> None:
    lines = safe_off([FakeDriver("bank", journal), FakeDriver("x", journal, fail_open=True)])
    assert lines == [
        "board 'bank': all 16 lock outputs off",
        "board 'x': could not reach the board: no such port /dev/ttyUSB9",
    ]
    assert journal.of("bank") == ["open", "all_off", "close"]
    assert journal.of("x") == ["open", "close"]


def test_bad_timing_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        LockSafety([], pulse_s=0)
    with pytest.raises(ValueError):
        LockSafety([], gap_s=-1)


@pytest.mark.parametrize(
    ("driver", "options", "asked", "coil"),
    [
        ("kerong", {}, 0.1, 0.5),  # the board's own energise time, taken as 500 ms
        ("kerong", {"energise_ms": 800}, 0.3, 0.8),  # set at open with command 0x37
        ("modbus", {}, 0.14, 0.1),  # flash on-time in 100 ms steps
        ("modbus", {}, 0.26, 0.3),
        ("sim", {}, 0.3, 0.3),
    ],
)
def test_boards_that_time_the_pulse_say_how_long_the_coil_is_on(
    driver: str, options: dict[str, Any], asked: float, coil: float
) -> None:
    spec = BoardSpec("b", driver, (ChannelSpec(1, "A01"),), options={"port": "/x", **options})
    if driver == "sim":
        spec = BoardSpec("b", driver, spec.channels)
    made = create_driver(spec)
    assert made.board_times_pulse
    assert made.pulse_length(asked) == pytest.approx(coil)
