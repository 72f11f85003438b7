"""Choosing a compartment: smallest fit, accessible ones kept for those who ask."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.allocation import Allocator, natural_key
from kiosk.errors import ConflictError, NotFound

S, M, L, XL = 0, 1, 2, 3


def bank(*compartments: tuple[str, int, bool], eligible: bool = True) -> Allocator:
    allocator = Allocator()
    for cid, rank, accessible in compartments:
        allocator.add(cid, rank, accessible)
        if eligible:
            allocator.set_eligible(cid, True)
    return allocator


def test_smallest_size_that_fits_is_chosen() -> None:
    allocator = bank(("A01", XL, False), ("A02", L, False), ("A03", M, False), ("A04", S, False))
    assert allocator.choose(S) == "A04"
    assert allocator.choose(M) == "A03"
    assert allocator.choose(L) == "A02"


def test_a_larger_size_is_chosen_when_the_small_ones_are_taken() -> None:
    allocator = bank(("A01", S, False), ("A02", M, False), ("A03", L, False))
    allocator.set_eligible("A01", False)
    assert allocator.choose(S) == "A02"
    allocator.set_eligible("A02", False)
    assert allocator.choose(S) == "A03"


def test_ids_are_taken_in_natural_order_within_a_size() -> None:
    allocator = bank(("A10", M, False), ("A02", M, False), ("A9", M, False))
    assert allocator.choose(M) == "A02"
    allocator.set_eligible("A02", False)
    assert allocator.choose(M) == "A9"


def test_natural_key_orders_numbers_by_value() -> None:
    ids = ["B1", "A10", "A2", "A01", "10", "A", "AA1"]
    assert sorted(ids, key=natural_key) == ["10", "A", "A01", "A2", "A10", "AA1", "B1"]


def test_accessible_compartments_are_kept_back_for_those_who_ask() -> None:
    allocator = bank(("A01", S, True), ("A02", L, False))
    assert allocator.choose(S) == "A02"


def test_accessible_compartment_is_chosen_when_asked_for() -> None:
    allocator = bank(("A01", S, False), ("A02", M, True), ("A03", L, True))
    assert allocator.choose(S, want_accessible=True) == "A02"


def test_asking_for_accessible_falls_back_to_the_normal_rule() -> None:
    allocator = bank(("A01", M, False), ("A02", S, True), ("A03", L, False))
    allocator.set_eligible("A02", False)
    assert allocator.choose(S, want_accessible=True) == "A01"


def test_accessible_compartment_is_the_last_resort() -> None:
    allocator = bank(("A01", S, True), ("A02", M, False), ("A03", L, True))
    allocator.set_eligible("A02", False)
    assert allocator.choose(S) == "A01"


def test_nothing_fits_gives_none() -> None:
    allocator = bank(("A01", S, False), ("A02", M, True))
    assert allocator.choose(L) is None
    assert allocator.choose(XL, want_accessible=True) is None
    assert Allocator().choose(S) is None


def test_new_compartments_are_not_eligible_until_told() -> None:
    allocator = bank(("A01", S, False), eligible=False)
    assert allocator.choose(S) is None
    assert allocator.free_counts() == {S: 0}


def test_ineligible_compartments_are_never_chosen() -> None:
    allocator = bank(("A01", S, False), ("A02", S, True), ("A03", M, False))
    for cid in ("A01", "A02", "A03"):
        allocator.set_eligible(cid, False)
    assert allocator.choose(S) is None
    assert allocator.choose(S, want_accessible=True) is None


def test_choose_does_not_reserve() -> None:
    allocator = bank(("A01", S, False))
    assert allocator.choose(S) == "A01"
    assert allocator.choose(S) == "A01"
    assert allocator.is_eligible("A01")


def test_a_compartment_back_in_service_is_chosen_again() -> None:
    allocator = bank(("A01", S, False), ("A02", S, False))
    allocator.set_eligible("A01", False)
    assert allocator.choose(S) == "A02"
    allocator.set_eligible("A01", True)
    assert allocator.choose(S) == "A01"


def test_toggling_eligibility_many_times_leaves_one_entry() -> None:
    allocator = bank(("A01", S, False))
    for _ in range(1000):
        allocator.set_eligible("A01", False)
        allocator.set_eligible("A01", True)
    assert allocator.free_counts() == {S: 1}
    assert len(allocator._heaps[(S, False)]) == 1


def test_free_counts_follow_eligibility_per_size() -> None:
    allocator = bank(("A01", S, False), ("A02", S, True), ("A03", M, False), ("A04", XL, True))
    allocator.set_eligible("A03", False)
    allocator.set_eligible("A03", False)  # idempotent
    assert allocator.free_counts() == {S: 2, M: 0, XL: 1}


def test_unknown_or_duplicate_compartments_are_refused() -> None:
    allocator = bank(("A01", S, False))
    with pytest.raises(ConflictError):
        allocator.add("A01", M, False)
    with pytest.raises(NotFound):
        allocator.set_eligible("Z99", True)


def test_choose_in_a_full_bank_of_1536_does_not_visit_every_compartment() -> None:
    allocator = Allocator()
    for i in range(1536):
        cid = f"{chr(65 + i // 64)}{i % 64:02d}"
        allocator.add(cid, i % 4, i % 16 == 0)
        allocator.set_eligible(cid, True)
    for i in range(1536):
        allocator.set_eligible(f"{chr(65 + i // 64)}{i % 64:02d}", False)
    allocator.set_eligible("X63", True)
    assert allocator.choose(S) == "X63"
    # the stale ids were dropped on the way: the next choose touches one entry only
    assert sum(len(heap) for heap in allocator._heaps.values()) < 1536
    assert allocator.choose(S) == "X63"


# -- against a brute-force reference ---------------------------------------------------


def reference_choose(
    compartments: dict[str, tuple[int, bool]],
    eligible: set[str],
    need: int,
    want_accessible: bool,
) -> str | None:
    """The rule written as plainly as possible: scan everything."""

    def best(accessible: bool) -> str | None:
        fits = [
            (rank, natural_key(cid), cid)
            for cid, (rank, acc) in compartments.items()
            if cid in eligible and rank >= need and acc == accessible
        ]
        return min(fits)[2] if fits else None

    if want_accessible:
        found = best(True)
        if found is not None:
            return found
    found = best(False)
    return found if found is not None else best(True)


compartment_ids = st.builds(
    lambda row, n: f"{row}{n:02d}", st.sampled_from("ABC"), st.integers(0, 30)
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("set"), compartment_ids, st.booleans()),
        st.tuples(st.just("choose"), st.integers(0, 4), st.booleans()),
        st.tuples(st.just("take"), st.integers(0, 4), st.booleans()),
    ),
    max_size=60,
)


@settings(max_examples=300)
@given(
    layout=st.dictionaries(
        compartment_ids, st.tuples(st.integers(0, 3), st.booleans()), max_size=40
    ),
    ops=operations,
)
def test_choose_agrees_with_a_brute_force_reference(
    layout: dict[str, tuple[int, bool]], ops: list[tuple[str, object, bool]]
) -> None:
    allocator = Allocator()
    for cid, (rank, accessible) in layout.items():
        allocator.add(cid, rank, accessible)
    eligible: set[str] = set()
    for op, arg, flag in ops:
        if op == "set":
            assert isinstance(arg, str)
            if arg not in layout:
                continue
            allocator.set_eligible(arg, flag)
            (eligible.add if flag else eligible.discard)(arg)
        else:
            assert isinstance(arg, int)
            expected = reference_choose(layout, eligible, arg, flag)
            assert allocator.choose(arg, want_accessible=flag) == expected
            if op == "take" and expected is not None:
                allocator.set_eligible(expected, False)
                eligible.discard(expected)
        counts = {rank: 0 for rank, _ in layout.values()}
        for cid in eligible:
            counts[layout[cid][0]] += 1
        assert allocator.free_counts() == counts
