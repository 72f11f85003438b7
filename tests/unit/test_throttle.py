"""The keypad throttle, driven by a fake monotonic clock."""

from __future__ import annotations

import json
import time

import pytest

from kiosk.access.throttle import FailureOutcome, Throttle, ThrottleLimits
from kiosk.errors import InvalidInput


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
        assert (outcome.locked_for, outcome.failures_in_row, outcome.alarm) == (0.0, n, False)
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
    throttle = Throttle(clock, ThrottleLimits(alarm_per_hour=1000))
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
    throttle = Throttle(clock, ThrottleLimits(free_attempts=1000))
    for _ in range(21):
        throttle.record_failure()
        clock.advance(60)
    # 21 failures at t=0..1200 s; now t=1260. An hour after the first, 20 remain.
    clock.advance(3600 - 1260 + 1)
    assert throttle.record_failure().alarm is True


def test_alarm_stays_quiet_while_the_count_stays_above_the_threshold(clock: FakeClock) -> None:
    throttle = Throttle(clock, ThrottleLimits(free_attempts=1000))
    for _ in range(21):
        throttle.record_failure()
    clock.advance(100)
    assert not any(throttle.record_failure().alarm for _ in range(50))


def test_old_failures_do_not_count_towards_the_alarm(clock: FakeClock) -> None:
    throttle = Throttle(clock, ThrottleLimits(free_attempts=1000))
    alarms = []
    for _ in range(100):
        alarms.append(throttle.record_failure().alarm)
        clock.advance(200)  # 18 an hour
    assert not any(alarms)


def test_success_does_not_reset_the_hourly_alarm_count(clock: FakeClock) -> None:
    throttle = Throttle(clock, ThrottleLimits(free_attempts=1000))
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


def test_a_lockout_goes_on_across_a_restart_in_the_same_boot(clock: FakeClock) -> None:
    throttle = Throttle(clock, boot="boot-1")
    fail_until_locked(throttle, clock)
    saved = json.loads(json.dumps(throttle.to_state()))
    clock.advance(12)  # the daemon restarts; the monotonic clock went on meanwhile
    restored = Throttle.from_state(saved, clock, boot="boot-1")
    assert restored.retry_after() == 18.0


def test_a_reboot_neither_ends_a_lockout_nor_counts_the_time_the_kiosk_was_off(
    clock: FakeClock,
) -> None:
    throttle = Throttle(clock, boot="boot-1")
    fail_until_locked(throttle, clock)
    clock.advance(12)
    saved = json.loads(json.dumps(throttle.to_state()))  # 18 s left when last saved
    after_reboot = FakeClock(now=7.0)  # the monotonic clock starts again at boot
    restored = Throttle.from_state(saved, after_reboot, boot="boot-2")
    assert restored.retry_after() == 18.0
    assert restored.failures_in_row == 5


def test_the_hourly_counts_keep_their_ages_across_a_reboot(clock: FakeClock) -> None:
    throttle = Throttle(clock, ThrottleLimits(free_attempts=1000), boot="boot-1")
    for _ in range(20):
        throttle.record_failure()
    clock.advance(600)
    restored = Throttle.from_state(throttle.to_state(), FakeClock(now=3.0), boot="boot-2")
    assert restored.record_failure().alarm is True  # the 21st within the hour


def test_restored_state_takes_the_given_parameters(clock: FakeClock) -> None:
    throttle = Throttle(clock)
    restored = Throttle.from_state(throttle.to_state(), clock, ThrottleLimits(free_attempts=2))
    assert [restored.record_failure().locked_for for _ in range(2)] == [0, 30]


def test_a_saved_lockout_never_exceeds_its_cap(clock: FakeClock) -> None:
    throttle = Throttle(clock, boot="boot-1")
    fail_until_locked(throttle, clock)
    state = throttle.to_state()
    state["locked_until"] = clock() + 86_400  # a day ahead: no lockout lasts that long
    assert Throttle.from_state(state, clock, boot="boot-1").retry_after() == 1800.0
    assert Throttle.from_state(state, FakeClock(5.0), boot="boot-2").retry_after() == 1800.0


def test_a_state_of_the_first_format_with_wall_clock_times_is_read(clock: FakeClock) -> None:
    wall_now = time.time()
    first_format = {"version": 1, "failures_in_row": 5, "since_lockout": 0, "lockouts": 1,
                    "locked_until": wall_now + 20, "recent": [wall_now - 10] * 5,
                    "alarm_armed": True}  # fmt: skip
    restored = Throttle.from_state(first_format, clock, boot="boot-1")
    assert 15 < restored.retry_after() <= 20
    assert restored.failures_in_row == 5


# -- the hourly limit and failures taken back ---------------------------------------------

HOURLY = ThrottleLimits(failures_per_hour=10)


def test_signing_in_between_guesses_does_not_get_past_the_hourly_limit(
    clock: FakeClock,
) -> None:
    # A courier guessing a technician's PIN signs in as themselves whenever the next
    # guess would start a lockout: the doubling never starts, the hourly limit does.
    throttle = Throttle(clock, HOURLY)
    guesses = 0
    while throttle.retry_after() == 0:
        if throttle.failures_in_row == 4:
            throttle.record_success()
        throttle.record_failure()
        guesses += 1
        clock.advance(2)
    assert guesses == 10
    assert throttle.retry_after() == 3600 - 20  # until the first guess is an hour old
    clock.advance(throttle.retry_after())
    assert throttle.record_failure().locked_for == pytest.approx(2.0)  # the next slot


def test_reaching_the_hourly_limit_raises_the_alarm(clock: FakeClock) -> None:
    throttle = Throttle(clock, HOURLY)
    alarms = []
    for _ in range(10):
        throttle.record_success()
        alarms.append(throttle.record_failure().alarm)
        clock.advance(60)
    assert alarms == [False] * 9 + [True]


def test_refusals_count_towards_the_alarm_but_not_the_hourly_limit(clock: FakeClock) -> None:
    throttle = Throttle(clock, HOURLY)
    fail_until_locked(throttle, clock)  # 5 failures
    assert [throttle.record_refusal() for _ in range(16)] == [False] * 15 + [True]
    clock.advance(throttle.retry_after())
    assert [throttle.record_failure().locked_for for _ in range(4)] == [0, 0, 0, 0]


def test_a_failure_taken_back_frees_its_place_and_lifts_the_lockout_it_started(
    clock: FakeClock,
) -> None:
    throttle = Throttle(clock)
    for _ in range(4):
        throttle.record_failure()
    fifth = throttle.record_failure()  # counted before its check: it locks the keypad
    assert throttle.retry_after() == 30.0
    throttle.withdraw(fifth)  # the check found it right
    assert throttle.retry_after() == 0.0
    assert throttle.failures_in_row == 0
    alarms = [throttle.record_failure().alarm for _ in range(17)]
    assert alarms.index(True) == 16  # the 21st of the hour: the fifth was none


def test_a_failure_taken_back_leaves_a_lockout_another_one_started(clock: FakeClock) -> None:
    throttle = Throttle(clock)
    for _ in range(3):
        throttle.record_failure()
    fourth, fifth = throttle.record_failure(), throttle.record_failure()
    assert fifth.locked_for == 30.0
    throttle.withdraw(fourth)
    assert throttle.retry_after() == 30.0


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
def test_nonsense_parameters_are_refused(params: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ThrottleLimits(**params)  # type: ignore[arg-type]
