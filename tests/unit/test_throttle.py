"""The keypad throttle, driven by a fake clock."""

from __future__ import annotations

import json

import pytest

from kiosk.errors import InvalidInput
from kiosk.throttle import FailureOutcome, Throttle


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def fail_until_locked(throttle: Throttle, clock: FakeClock) -> FailureOutcome:
    """Wrong inputs (one every 2 s) until one starts a lockout; that one's outcome."""
    for _ in range(100):
        assert throttle.retry_after() == 0.0
        outcome = throttle.record_failure()
        if outcome.locked_for:
            return outcome
        clock.advance(2)
    raise AssertionError("never locked")


def test_four_wrong_codes_are_accepted_and_the_fifth_locks_for_30_s(clock: FakeClock) -> None:
    throttle = Throttle(clock)
    for n in range(1, 5):
        outcome = throttle.record_failure()
        assert outcome == FailureOutcome(locked_for=0.0, failures_in_row=n, alarm=False)
        assert throttle.retry_after() == 0.0
    assert throttle.record_failure().locked_for == 30.0
    assert throttle.retry_after() == 30.0


def test_retry_after_counts_down_to_zero(clock: FakeClock) -> None:
    throttle = Throttle(clock)
    fail_until_locked(throttle, clock)
    clock.advance(10)
    assert throttle.retry_after() == 20.0
    clock.advance(19.5)
    assert throttle.retry_after() == 0.5
    clock.advance(0.5)
    assert throttle.retry_after() == 0.0
    clock.advance(100)
    assert throttle.retry_after() == 0.0


def test_lockouts_double_every_five_failures_up_to_30_minutes(clock: FakeClock) -> None:
    throttle = Throttle(clock, alarm_per_hour=1000)
    seen = []
    for _ in range(9):
        outcome = fail_until_locked(throttle, clock)
        seen.append(outcome.locked_for)
        clock.advance(outcome.locked_for)
    assert seen == [30, 60, 120, 240, 480, 960, 1800, 1800, 1800]


def test_each_lockout_needs_five_fresh_failures(clock: FakeClock) -> None:
    throttle = Throttle(clock)
    fail_until_locked(throttle, clock)
    clock.advance(30)
    outcomes = [throttle.record_failure() for _ in range(5)]
    assert [o.locked_for for o in outcomes] == [0, 0, 0, 0, 60]
    assert [o.failures_in_row for o in outcomes] == [6, 7, 8, 9, 10]


def test_failure_during_a_lockout_does_not_extend_it(clock: FakeClock) -> None:
    throttle = Throttle(clock)
    fail_until_locked(throttle, clock)
    clock.advance(10)
    outcome = throttle.record_failure()
    assert outcome.locked_for == 0.0
    assert outcome.failures_in_row == 5
    assert throttle.retry_after() == 20.0
    clock.advance(20)
    assert [throttle.record_failure().locked_for for _ in range(5)] == [0, 0, 0, 0, 60]


def test_success_clears_the_run_and_the_doubling(clock: FakeClock) -> None:
    throttle = Throttle(clock)
    for _ in range(3):
        clock.advance(fail_until_locked(throttle, clock).locked_for)
    throttle.record_success()
    assert throttle.failures_in_row == 0
    outcome = fail_until_locked(throttle, clock)
    assert outcome.locked_for == 30.0
    assert outcome.failures_in_row == 5


def test_success_in_the_middle_of_a_run_restarts_the_count(clock: FakeClock) -> None:
    throttle = Throttle(clock)
    for _ in range(4):
        throttle.record_failure()
    throttle.record_success()
    outcomes = [throttle.record_failure() for _ in range(5)]
    assert [o.locked_for for o in outcomes] == [0, 0, 0, 0, 30]


def test_alarm_fires_once_when_the_hour_passes_20_failures(clock: FakeClock) -> None:
    throttle = Throttle(clock)
    alarms = []
    for _ in range(30):
        clock.advance(throttle.retry_after() + 1)
        alarms.append(throttle.record_failure().alarm)
    assert alarms.index(True) == 20  # the 21st failure
    assert alarms.count(True) == 1


def test_failures_during_a_lockout_count_towards_the_alarm(clock: FakeClock) -> None:
    throttle = Throttle(clock)
    alarms = [throttle.record_failure().alarm for _ in range(21)]
    assert throttle.retry_after() == 30.0
    assert alarms == [False] * 20 + [True]


def test_alarm_fires_again_only_after_the_count_fell_back(clock: FakeClock) -> None:
    throttle = Throttle(clock, free_attempts=1000)
    for _ in range(21):
        throttle.record_failure()
        clock.advance(60)
    # 21 failures at t=0..1200 s; now t=1260. An hour after the first, 20 remain.
    clock.advance(3600 - 1260 + 1)
    assert throttle.record_failure().alarm is True


def test_alarm_stays_quiet_while_the_count_stays_above_the_threshold(clock: FakeClock) -> None:
    throttle = Throttle(clock, free_attempts=1000)
    for _ in range(21):
        throttle.record_failure()
    clock.advance(100)
    assert not any(throttle.record_failure().alarm for _ in range(50))


def test_old_failures_do_not_count_towards_the_alarm(clock: FakeClock) -> None:
    throttle = Throttle(clock, free_attempts=1000)
    alarms = []
    for _ in range(100):
        alarms.append(throttle.record_failure().alarm)
        clock.advance(200)  # 18 an hour
    assert not any(alarms)


def test_success_does_not_reset_the_hourly_alarm_count(clock: FakeClock) -> None:
    throttle = Throttle(clock, free_attempts=1000)
    for _ in range(20):
        throttle.record_failure()
        throttle.record_success()
    assert throttle.record_failure().alarm is True


def test_state_survives_a_restart_through_json(clock: FakeClock) -> None:
    throttle = Throttle(clock)
    for _ in range(2):
        clock.advance(fail_until_locked(throttle, clock).locked_for)
    for _ in range(3):
        throttle.record_failure()
    state = json.loads(json.dumps(throttle.to_state()))

    restored = Throttle.from_state(state, clock)
    assert restored.to_state() == throttle.to_state()
    assert restored.failures_in_row == 13
    assert [restored.record_failure().locked_for for _ in range(2)] == [0, 120]


def test_a_lockout_survives_a_restart(clock: FakeClock) -> None:
    throttle = Throttle(clock)
    fail_until_locked(throttle, clock)
    clock.advance(12)
    restored = Throttle.from_state(throttle.to_state(), clock)
    assert restored.retry_after() == 18.0


def test_restored_state_takes_the_given_parameters(clock: FakeClock) -> None:
    throttle = Throttle(clock)
    restored = Throttle.from_state(throttle.to_state(), clock, free_attempts=2)
    assert [restored.record_failure().locked_for for _ in range(2)] == [0, 30]


def test_a_clock_set_back_cannot_lock_longer_than_the_maximum(clock: FakeClock) -> None:
    throttle = Throttle(clock)
    fail_until_locked(throttle, clock)
    clock.advance(-86_400)
    restored = Throttle.from_state(throttle.to_state(), clock)
    assert restored.retry_after() == 1800.0


@pytest.mark.parametrize(
    "state",
    [
        {},
        {"version": 99},
        {
            "version": 1,
            "failures_in_row": -1,
            "since_lockout": 0,
            "lockouts": 0,
            "locked_until": 0,
            "recent": [],
            "alarm_armed": True,
        },
        {
            "version": 1,
            "failures_in_row": 0,
            "since_lockout": 0,
            "lockouts": 0,
            "locked_until": "soon",
            "recent": [],
            "alarm_armed": True,
        },
    ],
)
def test_unreadable_state_is_refused(clock: FakeClock, state: dict[str, object]) -> None:
    with pytest.raises(InvalidInput, match="throttle state"):
        Throttle.from_state(state, clock)


@pytest.mark.parametrize(
    "params",
    [
        {"free_attempts": 0},
        {"initial_lockout_s": 0},
        {"initial_lockout_s": 60, "max_lockout_s": 30},
        {"alarm_per_hour": 0},
    ],
)
def test_nonsense_parameters_are_refused(clock: FakeClock, params: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Throttle(clock, **params)  # type: ignore[arg-type]
