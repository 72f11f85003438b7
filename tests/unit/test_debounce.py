"""Door-sensor debouncing: bounces ignored, steady states taken."""

from __future__ import annotations

import pytest

from drivers.base import DoorState
from kiosk.doors.debounce import Debouncer

CLOSED, OPEN, UNKNOWN = DoorState.CLOSED, DoorState.OPEN, DoorState.UNKNOWN


def feed_all(debouncer: Debouncer, samples: list[tuple[float, DoorState]]) -> list[DoorState]:
    """Feed ``(time, raw)`` samples; the stable states announced, in order."""
    changes = []
    for now, raw in samples:
        changed = debouncer.feed(raw, now)
        if changed is not None:
            changes.append(changed)
    return changes


def test_starts_unknown_unless_told_otherwise() -> None:
    assert Debouncer(0.2, 3).state is UNKNOWN
    assert Debouncer(0.2, 3, initial=CLOSED).state is CLOSED


def test_waveform_from_the_docstring() -> None:
    debouncer = Debouncer(0.2, 3, initial=CLOSED)
    raw = [CLOSED, OPEN, CLOSED, CLOSED, OPEN, OPEN, OPEN, OPEN]
    stable = []
    for i, sample in enumerate(raw):
        debouncer.feed(sample, i / 10)
        stable.append(debouncer.state)
    assert stable == [CLOSED, CLOSED, CLOSED, CLOSED, CLOSED, CLOSED, OPEN, OPEN]


def test_a_bounce_shorter_than_the_window_is_ignored() -> None:
    debouncer = Debouncer(window_s=0.5, polls=2, initial=CLOSED)
    samples = [(0.0, OPEN), (0.1, OPEN), (0.2, OPEN), (0.3, CLOSED), (0.4, CLOSED)]
    assert feed_all(debouncer, samples) == []
    assert debouncer.state is CLOSED


def test_a_state_held_for_the_window_and_enough_polls_becomes_stable() -> None:
    debouncer = Debouncer(window_s=0.5, polls=2, initial=CLOSED)
    assert feed_all(debouncer, [(0.0, OPEN), (0.25, OPEN), (0.5, OPEN), (0.75, OPEN)]) == [OPEN]
    assert debouncer.state is OPEN


def test_n_polls_are_needed_even_after_the_window() -> None:
    debouncer = Debouncer(window_s=0.1, polls=4, initial=CLOSED)
    assert debouncer.feed(OPEN, 0.0) is None
    assert debouncer.feed(OPEN, 5.0) is None
    assert debouncer.feed(OPEN, 10.0) is None
    assert debouncer.feed(OPEN, 15.0) is OPEN


def test_the_window_is_needed_even_after_n_polls() -> None:
    debouncer = Debouncer(window_s=1.0, polls=2, initial=CLOSED)
    assert feed_all(debouncer, [(0.0, OPEN), (0.01, OPEN), (0.02, OPEN), (0.5, OPEN)]) == []
    assert debouncer.feed(OPEN, 1.0) is OPEN


def test_the_window_counts_from_the_first_sample_of_the_run() -> None:
    debouncer = Debouncer(window_s=1.0, polls=2, initial=CLOSED)
    samples = [(0.0, OPEN), (0.9, OPEN), (0.95, CLOSED), (1.0, OPEN), (1.5, OPEN), (1.99, OPEN)]
    assert feed_all(debouncer, samples) == []
    assert debouncer.feed(OPEN, 2.0) is OPEN


def test_change_is_announced_once() -> None:
    debouncer = Debouncer(window_s=0.0, polls=2, initial=CLOSED)
    samples = [(t / 10, OPEN) for t in range(10)]
    assert feed_all(debouncer, samples) == [OPEN]


def test_one_poll_and_no_window_follows_the_raw_state() -> None:
    debouncer = Debouncer(window_s=0.0, polls=1, initial=CLOSED)
    assert feed_all(debouncer, [(0.0, OPEN), (0.1, CLOSED), (0.2, CLOSED), (0.3, OPEN)]) == [
        OPEN,
        CLOSED,
        OPEN,
    ]


def test_open_then_closed_again_is_reported_both_ways() -> None:
    debouncer = Debouncer(window_s=0.2, polls=3, initial=CLOSED)
    samples = [(t / 10, OPEN) for t in range(5)] + [(t / 10, CLOSED) for t in range(5, 10)]
    assert feed_all(debouncer, samples) == [OPEN, CLOSED]


def test_force_sets_the_state_at_once() -> None:
    debouncer = Debouncer(window_s=0.2, polls=3, initial=CLOSED)
    assert debouncer.force(UNKNOWN) is UNKNOWN
    assert debouncer.state is UNKNOWN
    assert debouncer.force(UNKNOWN) is None


def test_force_resets_the_run() -> None:
    debouncer = Debouncer(window_s=0.2, polls=3, initial=UNKNOWN)
    feed_all(debouncer, [(0.0, CLOSED), (0.1, CLOSED)])
    debouncer.force(UNKNOWN)  # board went offline mid-run
    assert debouncer.feed(CLOSED, 0.2) is None
    assert debouncer.feed(CLOSED, 0.3) is None
    assert debouncer.feed(CLOSED, 0.4) is CLOSED


def test_board_back_online_needs_a_full_steady_run() -> None:
    debouncer = Debouncer(window_s=0.2, polls=3, initial=CLOSED)
    debouncer.force(UNKNOWN)
    assert feed_all(debouncer, [(1.0, CLOSED), (1.1, CLOSED)]) == []
    assert debouncer.state is UNKNOWN
    assert debouncer.feed(CLOSED, 1.2) is CLOSED


@pytest.mark.parametrize(("window_s", "polls"), [(-0.1, 3), (0.2, 0)])
def test_nonsense_parameters_are_refused(window_s: float, polls: int) -> None:
    with pytest.raises(ValueError):
        Debouncer(window_s, polls)
