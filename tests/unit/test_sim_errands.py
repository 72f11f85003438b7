"""The simulated person handles a compartment's item only for what the door was opened
for: a parcel in for a deposit, out for a pickup, nothing for a self-test or open-all."""

from __future__ import annotations

import pytest

from hw_sim.model import Bank

LAYOUT = {"A01": ("top", 1), "A02": ("top", 2)}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Desk:
    """Takes the person's questions; the test answers them."""

    def __init__(self) -> None:
        self.questions: list[tuple[str, int]] = []

    def __call__(self, cid: str, visit: int) -> None:
        self.questions.append((cid, visit))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def desk() -> Desk:
    return Desk()


@pytest.fixture
def bank(clock: FakeClock, desk: Desk) -> Bank:
    bank = Bank(LAYOUT, close_delay_s=2.0, clock=clock)
    bank.ask_errands(desk, wait_s=10.0)
    return bank


def visit(bank: Bank, clock: FakeClock, desk: Desk, cid: str, lock: int, errand: str) -> None:
    """A pulse pops the door; the desk answers at once; the person is done 2 s later."""
    bank.energise("top", lock, 0.5)
    (asked,) = [q for q in desk.questions if q[0] == cid][-1:]
    bank.tell_errand(cid, asked[1], errand)
    clock.advance(2.0)


def test_a_deposit_puts_a_parcel_in_and_a_pickup_takes_it_out(
    bank: Bank, clock: FakeClock, desk: Desk
) -> None:
    visit(bank, clock, desk, "A01", 1, "put")
    assert (bank.snapshot()["A01"]["item"], bank.snapshot()["A01"]["door_open"]) == (True, False)
    visit(bank, clock, desk, "A01", 1, "take")
    assert (bank.snapshot()["A01"]["item"], bank.snapshot()["A01"]["door_open"]) == (False, False)


def test_a_self_test_leaves_a_full_compartment_full_and_an_empty_one_empty(
    bank: Bank, clock: FakeClock, desk: Desk
) -> None:
    bank.set_item("A01", True)
    visit(bank, clock, desk, "A01", 1, "none")
    visit(bank, clock, desk, "A02", 2, "none")
    snapshot = bank.snapshot()
    assert (snapshot["A01"]["item"], snapshot["A02"]["item"]) == (True, False)
    assert not snapshot["A01"]["door_open"] and not snapshot["A02"]["door_open"]
    assert bank.fire_counts() == {"A01": 1, "A02": 1}


def test_the_person_waits_at_the_open_door_for_a_late_answer(
    bank: Bank, clock: FakeClock, desk: Desk
) -> None:
    bank.energise("top", 1, 0.5)
    clock.advance(5.0)  # the daemon is slow to say what the door is for
    assert bank.snapshot()["A01"]["door_open"]
    bank.tell_errand("A01", desk.questions[-1][1], "put")
    clock.advance(0.1)
    assert bank.snapshot()["A01"]["item"]
    clock.advance(1.0)
    assert not bank.snapshot()["A01"]["door_open"]


def test_with_no_answer_the_person_closes_the_door_and_leaves_its_contents(
    bank: Bank, clock: FakeClock, desk: Desk
) -> None:
    bank.set_item("A02", True)
    bank.energise("top", 2, 0.5)
    clock.advance(9.0)
    assert bank.snapshot()["A02"]["door_open"]
    clock.advance(3.0)
    snapshot = bank.snapshot()["A02"]
    assert (snapshot["door_open"], snapshot["item"]) == (False, True)


def test_an_answer_for_an_earlier_visit_is_dropped(
    bank: Bank, clock: FakeClock, desk: Desk
) -> None:
    bank.energise("top", 1, 0.5)
    first = desk.questions[-1][1]
    clock.advance(12.0)  # no answer: closed untouched
    bank.energise("top", 1, 0.5)
    bank.tell_errand("A01", first, "put")  # the first visit's answer, too late
    clock.advance(2.0)
    assert bank.snapshot()["A01"]["door_open"]  # still waiting for this visit's word
    assert not bank.snapshot()["A01"]["item"]


def test_an_unknown_errand_is_refused_by_name(bank: Bank) -> None:
    with pytest.raises(ValueError, match="errand must be one of"):
        bank.tell_errand("A01", 0, "juggle")
