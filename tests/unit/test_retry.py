"""Asking a board again, as every bus driver does it: how many attempts, the waits between
them (growing for a request, a short gap within a poll's budget), what ends the asking
early, and what the board's counters and the final error say.

The waits are what the helper asks ``time.sleep`` for, recorded instead of slept: the
schedule is checked, never the clock.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

import drivers.retry
from drivers.budget import ReadBudget
from drivers.counters import BusCounters
from drivers.errors import BoardOffline
from drivers.kerong.link import BACKOFF as KERONG_BACKOFF
from drivers.modbus.driver import BACKOFF as MODBUS_BACKOFF
from drivers.modbus.frames import ModbusExceptionReply
from drivers.retry import POLL_GAP_S, Backoff, Exhausted, retry

KINDS = ("timeout",)


class Board:
    """Fails its first ``failures`` attempts with ``error``, then answers ``"doors"``."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or BoardOffline("top", "no reply")
        self.attempts = 0

    def ask(self) -> str:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise self.error
        return "doors"


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(drivers.retry.time, "sleep", slept.append)
    return slept


def ask(
    board: Board,
    retries: int,
    backoff: Backoff = KERONG_BACKOFF,
    *,
    counters: BusCounters | None = None,
    budget: ReadBudget | None = None,
    may_retry: Callable[[float], bool] | None = None,
) -> str:
    return retry(
        board.ask,
        retries=retries,
        backoff=backoff,
        retry_on=(BoardOffline,),
        counters=counters,
        budget=budget,
        may_retry=may_retry,
    )


def test_a_board_that_answers_at_the_third_attempt_is_read_after_two_growing_waits(
    waits: list[float],
) -> None:
    counters = BusCounters(KINDS)
    board = Board(failures=2)
    assert ask(board, retries=3, counters=counters) == "doors"
    assert board.attempts == 3
    assert waits == [0.02, 0.04]
    assert counters.retries == 2


def test_a_silent_board_is_given_up_after_its_retries_with_the_last_error_and_the_count(
    waits: list[float],
) -> None:
    board = Board(failures=99)
    with pytest.raises(Exhausted) as caught:
        ask(board, retries=3)
    assert board.attempts == 4
    assert caught.value.attempts == 4 and caught.value.tried == "4 attempts"
    assert caught.value.last is board.error
    assert len(waits) == 3


def test_a_kerong_request_waits_at_most_160_ms_between_attempts_a_modbus_one_keeps_doubling(
    waits: list[float],
) -> None:
    with pytest.raises(Exhausted):
        ask(Board(failures=99), retries=6, backoff=KERONG_BACKOFF)
    assert waits == [0.02, 0.04, 0.08, 0.16, 0.16, 0.16]
    waits.clear()
    with pytest.raises(Exhausted):
        ask(Board(failures=99), retries=4, backoff=MODBUS_BACKOFF)
    assert waits == [0.02, 0.04, 0.08, 0.16]


def test_no_retries_means_one_attempt_and_no_wait(waits: list[float]) -> None:
    with pytest.raises(Exhausted) as caught:
        ask(Board(failures=1), retries=0)
    assert caught.value.tried == "1 attempt"
    assert waits == []


def test_an_error_that_is_no_reason_to_ask_again_leaves_at_once(waits: list[float]) -> None:
    counters = BusCounters(KINDS)
    board = Board(failures=5, error=ModbusExceptionReply("top", "illegal function", 1))
    with pytest.raises(ModbusExceptionReply):
        ask(board, retries=3, counters=counters)
    assert (board.attempts, counters.retries, waits) == (1, 0, [])


def test_a_poll_asks_again_after_a_short_gap_while_its_budget_holds_another_attempt(
    waits: list[float],
) -> None:
    board = Board(failures=2)
    assert ask(board, retries=3, budget=ReadBudget(10.0, least_s=0.01)) == "doors"
    assert waits == [POLL_GAP_S, POLL_GAP_S]


def test_a_poll_whose_budget_is_spent_stops_before_the_retries_are(waits: list[float]) -> None:
    budget = ReadBudget(0.0, least_s=0.01)
    budget.timeout(0.1)  # the first attempt had the bus, and spent the budget
    board = Board(failures=99)
    with pytest.raises(Exhausted) as caught:
        ask(board, retries=3, budget=budget)
    assert (board.attempts, caught.value.attempts, waits) == (1, 1, [])


def test_a_request_its_caller_may_not_repeat_is_sent_once(waits: list[float]) -> None:
    # A Modbus flash whose repeat could hold the coil past the cap.
    elapsed: list[float] = []

    def may_retry(seconds: float) -> bool:
        elapsed.append(seconds)
        return False

    board = Board(failures=99)
    with pytest.raises(Exhausted):
        ask(board, retries=3, may_retry=may_retry)
    assert board.attempts == 1
    assert len(elapsed) == 1 and elapsed[0] >= 0


def test_a_bus_scan_asks_again_with_no_board_to_count_it_against(waits: list[float]) -> None:
    board = Board(failures=1)
    assert ask(board, retries=1, counters=None) == "doors"
    assert (board.attempts, len(waits)) == (2, 1)


def test_a_back_off_doubles_to_its_cap_and_never_overflows() -> None:
    backoff = Backoff(first_s=0.5, max_s=30.0)
    assert [backoff.wait(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert backoff.wait(10_000) == 30.0


def test_a_jittered_back_off_stays_within_its_spread() -> None:
    backoff = Backoff(first_s=1.0, max_s=1.0, jitter=0.2)
    spread = {backoff.wait(1) for _ in range(200)}
    assert all(0.8 <= wait <= 1.2 for wait in spread)
    assert len(spread) > 1


@pytest.mark.parametrize(
    ("first_s", "max_s", "jitter"), [(-1.0, 1.0, 0.0), (2.0, 1.0, 0.0), (0.1, 1.0, 1.0)]
)
def test_a_back_off_that_makes_no_sense_is_refused(
    first_s: float, max_s: float, jitter: float
) -> None:
    with pytest.raises(ValueError):
        Backoff(first_s, max_s, jitter)
