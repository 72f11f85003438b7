"""The poller samples a board, notices when it dies and brings it back."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from drivers.base import BoardSpec, ChannelReading, ChannelSpec, DoorState
from drivers.errors import BoardOffline, NotConnected, SilentAfterUnlock
from drivers.poller import BoardLink, Poller, next_deadline
from drivers.safety import LockSafety
from drivers.sim import SimDriver
from hw_sim.model import reset_shared_banks, shared_bank

Readings = dict[int, ChannelReading]


class FakeLink:
    """Stands in for the safety layer: a board that can die (and then fails to reopen,
    so that the safety layer has it as not connected) and come back."""

    def __init__(self) -> None:
        self.is_dead = False
        self.reads = 0
        self.reopen_times: list[float] = []

    def read(self, board: str, budget_s: float | None = None) -> Readings:
        self.reads += 1
        if self.is_dead:
            raise NotConnected(board, "not answering")
        return {1: ChannelReading(DoorState.CLOSED, False)}

    def reopen(self, board: str) -> None:
        self.reopen_times.append(time.monotonic())
        if self.is_dead:
            raise BoardOffline(board, "not answering")


class Recorder:
    def __init__(self) -> None:
        self.samples: list[tuple[str, Readings | None, float]] = []
        self.health: list[tuple[str, bool, str | None]] = []

    def on_sample(self, board: str, readings: Readings | None, t: float) -> None:
        self.samples.append((board, readings, t))

    def on_health(self, board: str, online: bool, error: str | None) -> None:
        self.health.append((board, online, error))


def wait_for(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def start_poller(recorder: Recorder) -> Iterator[Callable[..., Poller]]:
    started: list[Poller] = []

    def start(link: BoardLink, **kwargs: Any) -> Poller:
        kwargs.setdefault("hz", 100.0)
        poller = Poller(link, "top", recorder.on_sample, recorder.on_health, **kwargs)
        poller.start()
        started.append(poller)
        return poller

    yield start
    for poller in started:
        poller.stop()


def test_next_tick_stays_on_the_grid() -> None:
    assert next_deadline(0.0, 0.1, 0.05) == pytest.approx(0.1)
    assert next_deadline(0.0, 0.1, 0.35) == pytest.approx(0.4)  # missed ticks skipped


def test_slow_reads_do_not_make_the_schedule_drift() -> None:
    deadline = 0.0
    for _ in range(1000):
        deadline = next_deadline(deadline, 0.1, now=deadline + 0.03)
    assert deadline == pytest.approx(100.0)


def test_samples_are_handed_over_with_their_time(
    start_poller: Callable[..., Poller], recorder: Recorder
) -> None:
    start_poller(FakeLink())
    wait_for(lambda: len(recorder.samples) >= 5)
    boards, readings, times = zip(*recorder.samples[:5], strict=True)
    assert set(boards) == {"top"}
    assert all(r == {1: ChannelReading(DoorState.CLOSED, False)} for r in readings)
    assert list(times) == sorted(times)
    assert recorder.health == []


def test_dead_board_goes_offline_and_comes_back(
    start_poller: Callable[..., Poller], recorder: Recorder
) -> None:
    link = FakeLink()
    poller = start_poller(link, offline_after=3, backoff_s=0.02)
    wait_for(lambda: len(recorder.samples) >= 2)
    link.is_dead = True
    wait_for(lambda: len(link.reopen_times) >= 3)
    assert recorder.health == [("top", False, "board 'top': not answering")]
    assert not poller.is_online
    failed = [s for s in recorder.samples if s[1] is None]
    assert len(failed) == 3  # one None per missed read, none while reconnecting

    link.is_dead = False
    wait_for(lambda: len(recorder.health) == 2)
    assert recorder.health[1] == ("top", True, None)
    wait_for(lambda: recorder.samples[-1][1] is not None)
    assert poller.is_online


class SilentLink(FakeLink):
    """A board whose driver is open but gets no answer: a read takes its whole budget
    to fail, and a reopen (which must switch the outputs off first) fails too."""

    def read(self, board: str, budget_s: float | None = None) -> Readings:
        self.reads += 1
        if self.is_dead:
            time.sleep(budget_s if budget_s is not None else 0.5)
            raise BoardOffline(board, "no reply")
        return {1: ChannelReading(DoorState.CLOSED, False)}


def test_poll_reads_are_given_half_a_period(start_poller: Callable[..., Poller]) -> None:
    budgets: list[float | None] = []

    class Link(FakeLink):
        def read(self, board: str, budget_s: float | None = None) -> Readings:
            budgets.append(budget_s)
            return super().read(board, budget_s)

    start_poller(Link(), hz=20.0)
    wait_for(lambda: len(budgets) >= 2)
    assert budgets[:2] == [pytest.approx(0.025), pytest.approx(0.025)]


@pytest.mark.parametrize("run", range(3))
def test_a_silent_board_is_offline_within_3_periods_and_back_within_2(
    start_poller: Callable[..., Poller], recorder: Recorder, run: int
) -> None:
    link = SilentLink()
    period = 0.1
    start_poller(link, hz=1 / period, offline_after=2, backoff_s=0.5)
    wait_for(lambda: len(recorder.samples) >= 2)
    time.sleep(run * period / 3)  # a different phase against the poll grid each run
    silenced = time.monotonic()
    link.is_dead = True
    wait_for(lambda: len(recorder.health) == 1)
    offline_after_s = time.monotonic() - silenced
    time.sleep(0.3 + run * period / 3)
    revived = time.monotonic()
    link.is_dead = False
    wait_for(lambda: len(recorder.health) == 2)
    back_after_s = time.monotonic() - revived
    assert offline_after_s <= 3 * period  # at most 2.5 periods on a quiet machine
    assert back_after_s <= 2 * period  # at most 1 period on a quiet machine
    assert [online for _, online, _ in recorder.health] == [False, True]
    assert link.reopen_times == []  # an open driver that gets no answer is only read


def test_a_board_that_is_not_connected_is_reopened_before_it_is_read_again(
    start_poller: Callable[..., Poller], recorder: Recorder
) -> None:
    link = FakeLink()
    link.is_dead = True
    start_poller(link, offline_after=2, backoff_s=0.05, jitter=0.0)
    wait_for(lambda: len(link.reopen_times) >= 2)
    reads = link.reads
    time.sleep(0.03)  # a few periods between two reopens: nothing to read
    assert link.reads == reads
    link.is_dead = False
    wait_for(lambda: len(recorder.health) == 2)
    assert recorder.health[1] == ("top", True, None)


def test_reconnect_waits_double_each_time_up_to_the_cap(
    start_poller: Callable[..., Poller],
) -> None:
    link = FakeLink()
    link.is_dead = True
    start_poller(link, offline_after=1, backoff_s=0.01, backoff_max_s=0.04, jitter=0.0)
    wait_for(lambda: len(link.reopen_times) >= 5)
    times = link.reopen_times
    waits = [later - earlier for earlier, later in itertools.pairwise(times)]
    for waited, expected in zip(waits, [0.02, 0.04, 0.04, 0.04], strict=False):
        assert waited >= expected * 0.9


def test_callback_that_raises_does_not_stop_the_poller(
    caplog: pytest.LogCaptureFixture,
) -> None:
    link = FakeLink()

    def broken(board: str, readings: Readings | None, t: float) -> None:
        raise RuntimeError("handler bug")

    poller = Poller(link, "top", broken, lambda *args: None, hz=100.0)
    with caplog.at_level(logging.ERROR):
        poller.start()
        wait_for(lambda: link.reads >= 3)
        poller.stop()
    assert not poller.is_alive()
    assert "on_sample failed" in caplog.text


def test_stop_ends_the_thread_promptly(start_poller: Callable[..., Poller]) -> None:
    poller = start_poller(FakeLink(), hz=0.1)  # would sleep 10 s between reads
    time.sleep(0.02)
    began = time.monotonic()
    poller.stop()
    assert not poller.is_alive()
    assert time.monotonic() - began < 1.0


def test_poller_sees_a_door_pop_open_and_close_through_the_safety_layer(
    start_poller: Callable[..., Poller], recorder: Recorder
) -> None:
    reset_shared_banks()
    spec = BoardSpec("top", "sim", (ChannelSpec(1, "A01"),), options={"close_delay_s": 0.1})
    safety = LockSafety([SimDriver(spec)], pulse_s=0.05)
    safety.start()
    try:
        start_poller(safety)
        assert safety.unlock("top", 1).result(timeout=2).ok

        def last_door() -> DoorState | None:
            readings = recorder.samples[-1][1] if recorder.samples else None
            return readings[1].door if readings else None

        wait_for(lambda: last_door() is DoorState.OPEN)
        wait_for(lambda: last_door() is DoorState.CLOSED)  # the person shut it
    finally:
        safety.close()
        reset_shared_banks()


class DoorLink(FakeLink):
    """A board whose door 1 can be opened by the test."""

    def __init__(self) -> None:
        super().__init__()
        self.door = DoorState.CLOSED

    def read(self, board: str, budget_s: float | None = None) -> Readings:
        self.reads += 1
        return {1: ChannelReading(self.door, False)}


def test_a_door_change_is_confirmed_within_the_window_not_periods_later() -> None:
    # A debouncer that wants 3 reads over 30 ms at 2 Hz would otherwise report an
    # opened door a second after the first poll saw it; the two confirming reads come
    # 15 ms apart instead, and then the grid goes on.
    link, rec = DoorLink(), Recorder()
    poller = Poller(link, "bank", rec.on_sample, rec.on_health, hz=2.0,
                    confirm_s=0.015, confirm_reads=2)  # fmt: skip
    poller.start()
    try:
        wait_for(lambda: len(rec.samples) >= 1)
        link.door = DoorState.OPEN
        wait_for(lambda: any(s[1] and s[1][1].door is DoorState.OPEN for s in rec.samples))
        first_open = next(i for i, s in enumerate(rec.samples)
                          if s[1] and s[1][1].door is DoorState.OPEN)  # fmt: skip
        wait_for(lambda: len(rec.samples) >= first_open + 3)
        times = [s[2] for s in rec.samples[first_open : first_open + 3]]
        doors = [s[1][1].door for s in rec.samples[first_open : first_open + 3] if s[1]]
        assert doors == [DoorState.OPEN] * 3
        assert times[2] - times[0] < 0.2  # within the window, not two half-second periods
        reads = link.reads
        time.sleep(0.3)
        assert link.reads - reads <= 1  # back on the 2 Hz grid, no more quick reads
    finally:
        poller.stop()


def test_a_flapping_sensor_costs_at_most_the_confirming_reads_per_period() -> None:
    class Flapping(DoorLink):
        def read(self, board: str, budget_s: float | None = None) -> Readings:
            self.door = DoorState.OPEN if self.door is DoorState.CLOSED else DoorState.CLOSED
            return super().read(board, budget_s)

    link, rec = Flapping(), Recorder()
    poller = Poller(link, "bank", rec.on_sample, rec.on_health, hz=5.0,
                    confirm_s=0.01, confirm_reads=2)  # fmt: skip
    poller.start()
    try:
        time.sleep(1.0)
    finally:
        poller.stop()
    # 5 polls a second, each followed by at most 2 confirming reads
    assert link.reads <= 3 * 6


def test_confirming_reads_are_off_when_the_grid_is_already_as_fast() -> None:
    poller = Poller(FakeLink(), "bank", Recorder().on_sample, Recorder().on_health, hz=100.0,
                    confirm_s=0.015, confirm_reads=2)  # fmt: skip
    assert poller.confirm_reads == 0


def test_an_unlock_the_board_did_not_answer_counts_as_a_missed_poll(
    start_poller: Callable[..., Poller], recorder: Recorder
) -> None:
    reset_shared_banks()
    spec = BoardSpec("top", "sim", (ChannelSpec(1, "A01"),), options={"close_delay_s": 0.1})
    safety = LockSafety([SimDriver(spec)], pulse_s=0.05)
    safety.start()
    try:
        assert set(safety.read("top", 0.05)) == {1}
        shared_bank().kill_board("top")
        assert not safety.unlock("top", 1).result(timeout=2).ok
        with pytest.raises(SilentAfterUnlock, match=r"'top'.*nor the unlock before"):
            safety.read("top", 0.05)
        with pytest.raises(BoardOffline) as again:
            safety.read("top", 0.05)  # the unlock counted once
        assert not isinstance(again.value, SilentAfterUnlock)
        assert not safety.unlock("top", 1).result(timeout=2).ok
        start_poller(safety, hz=10.0, offline_after=2)
        wait_for(lambda: recorder.health != [])
        assert recorder.health[0][1] is False
        assert len(recorder.samples) == 1  # one failed poll after the failed unlock
    finally:
        safety.close()
        reset_shared_banks()


def test_a_confirming_read_that_fails_is_not_a_missed_poll() -> None:
    # Noise on the bus spoils the quick read after a change: the board is not a step
    # closer to "offline" for it; the next poll of the grid decides.
    class Noisy(DoorLink):
        def read(self, board: str, budget_s: float | None = None) -> Readings:
            if self.reads == 2:  # the quick read right after the change was seen
                self.reads += 1
                raise BoardOffline(board, "CRC error")
            return super().read(board, budget_s)

    link, rec = Noisy(), Recorder()
    link.door = DoorState.OPEN
    poller = Poller(link, "bank", rec.on_sample, rec.on_health, hz=2.0, offline_after=1,
                    confirm_s=0.01, confirm_reads=2)  # fmt: skip
    poller.start()
    try:
        wait_for(lambda: len(rec.samples) >= 1)
        link.door = DoorState.CLOSED  # seen at the next grid poll; then the quick read fails
        wait_for(lambda: link.reads >= 4, timeout=3.0)
        time.sleep(0.05)
    finally:
        poller.stop()
    assert rec.health == []
    assert all(readings is not None for _, readings, _ in rec.samples)


def test_a_missed_poll_is_asked_again_at_once_not_a_period_later() -> None:
    # A dead board is reported after offline_after failed reads back to back, so within
    # one period and two budgets of its last answer, not two and a half periods.
    class Timed(FakeLink):
        def __init__(self) -> None:
            super().__init__()
            self.failed_at: list[float] = []

        def read(self, board: str, budget_s: float | None = None) -> Readings:
            if self.is_dead:
                self.failed_at.append(time.monotonic())
            return super().read(board, budget_s)

    link, rec = Timed(), Recorder()
    poller = Poller(link, "bank", rec.on_sample, rec.on_health, hz=2.0, offline_after=2)
    poller.start()
    try:
        wait_for(lambda: len(rec.samples) >= 1)
        link.is_dead = True
        wait_for(lambda: rec.health)
        offline_at = time.monotonic()
    finally:
        poller.stop()
    assert rec.health[0][:2] == ("bank", False)
    first, second = link.failed_at[:2]
    assert second - first < 0.2  # not the 0.5 s period
    assert offline_at - first < 0.3


# -- the offline rule: several misses and a time without a valid reply ------------------


class Clocked(FakeLink):
    """A board whose reads are noted with their time, good or failed."""

    def __init__(self) -> None:
        super().__init__()
        self.good_at: list[float] = []
        self.failed_at: list[float] = []

    def read(self, board: str, budget_s: float | None = None) -> Readings:
        at = time.monotonic()
        try:
            readings = super().read(board, budget_s)
        except NotConnected:
            self.failed_at.append(at)
            raise
        self.good_at.append(time.monotonic())  # when the reply was in
        return readings


def test_a_silent_board_is_offline_only_once_it_gave_no_reply_for_the_time_set() -> None:
    link, rec = Clocked(), Recorder()
    verdicts: list[float] = []

    def on_health(board: str, online: bool, error: str | None) -> None:
        verdicts.append(time.monotonic())
        rec.on_health(board, online, error)

    poller = Poller(link, "bank", rec.on_sample, on_health, hz=50.0, offline_after=3,
                    offline_after_s=0.4)  # fmt: skip
    poller.start()
    try:
        wait_for(lambda: len(link.good_at) >= 2)
        link.is_dead = True
        wait_for(lambda: rec.health != [])
    finally:
        poller.stop()
    last_answer = link.good_at[-1]
    failed_before_verdict = [t for t in link.failed_at if t < verdicts[0]]
    assert rec.health[0][:2] == ("bank", False)
    assert len(failed_before_verdict) >= 3  # three misses and more came before the verdict,
    assert verdicts[0] - last_answer >= 0.4  # which waited for the time without a reply


def test_a_board_silent_for_less_than_the_time_set_is_never_offline() -> None:
    # A busy host reading the answers too late for a moment: many missed polls, but a
    # valid reply again within the time.
    link, rec = Clocked(), Recorder()
    poller = Poller(link, "bank", rec.on_sample, rec.on_health, hz=50.0, offline_after=3,
                    offline_after_s=1.0)  # fmt: skip
    poller.start()
    try:
        wait_for(lambda: len(link.good_at) >= 2)
        link.is_dead = True
        wait_for(lambda: len(link.failed_at) >= 10)
        link.is_dead = False
        answered = len(link.good_at)
        wait_for(lambda: len(link.good_at) >= answered + 5)
    finally:
        poller.stop()
    assert rec.health == []


def test_the_time_alone_is_not_enough_a_board_also_misses_several_polls() -> None:
    # A slow grid (2 Hz): past the time without a reply after the first miss, the board
    # is still offline only at its third miss in a row.
    link, rec = Clocked(), Recorder()
    poller = Poller(link, "bank", rec.on_sample, rec.on_health, hz=2.0, offline_after=3,
                    offline_after_s=0.01)  # fmt: skip
    poller.start()
    try:
        wait_for(lambda: len(link.good_at) >= 1)
        link.is_dead = True
        wait_for(lambda: rec.health != [])
    finally:
        poller.stop()
    assert len(link.failed_at) == 3
