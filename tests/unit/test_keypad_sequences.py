"""Any sequence of keypad input against the throttle and the code rules (Hypothesis).

A person (or an attacker) types right and wrong codes, waits, and the kiosk restarts or
reboots in between (the throttle's state goes through the store's JSON; a reboot starts
the monotonic clock again). Whatever the sequence:

* the kiosk takes at most 5 wrong codes between two lockouts;
* a lockout never lasts longer than 30 minutes, and neither a restart nor a reboot ends
  it early or forgets the run of wrong codes;
* a code is accepted as typed only when it is the configured number of digits (spaces and
  dashes aside), and a refusal never repeats what was typed.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.access.codes import normalize_code
from kiosk.access.throttle import Throttle
from kiosk.errors import InvalidInput

FREE, FIRST, LONGEST = 5, 30.0, 1800.0

steps = st.lists(
    st.one_of(
        st.tuples(st.just("wrong"), st.floats(0.1, 20)),
        st.tuples(st.just("right"), st.floats(0.1, 20)),
        st.tuples(st.just("wait"), st.floats(1, 4000)),
        st.tuples(st.just("restart"), st.just(0.0)),
        st.tuples(st.just("reboot"), st.floats(0, 100)),
    ),
    max_size=120,
)


@given(steps)
def test_any_input_sequence_keeps_to_the_lockout_rules(sequence: list[tuple[str, float]]) -> None:
    now = [1_000_000.0]
    boot = 1
    throttle = Throttle(lambda: now[0], boot=str(boot))
    wrong_since_lockout = 0
    for action, seconds in sequence:
        if action in ("restart", "reboot"):
            before = (throttle.retry_after(), throttle.failures_in_row)
            state = json.loads(json.dumps(throttle.to_state()))
            if action == "reboot":  # the monotonic clock starts again, near zero
                now[0], boot = seconds, boot + 1
            throttle = Throttle.from_state(state, lambda: now[0], boot=str(boot))
            assert throttle.retry_after() == pytest.approx(before[0])
            assert throttle.failures_in_row == before[1]
            continue
        now[0] += seconds
        if action == "wait" or throttle.retry_after() > 0:
            continue  # the kiosk refuses input while locked: the caller checks first
        if action == "right":
            throttle.record_success()
            wrong_since_lockout = 0
            continue
        outcome = throttle.record_failure()
        wrong_since_lockout += 1
        assert wrong_since_lockout <= FREE
        if outcome.locked_for:
            assert FIRST <= outcome.locked_for <= LONGEST
            assert throttle.retry_after() == pytest.approx(outcome.locked_for)
            wrong_since_lockout = 0
        assert throttle.retry_after() <= LONGEST


@given(text=st.text(max_size=30), digits=st.integers(6, 12))
def test_a_typed_code_is_taken_only_as_exactly_its_digits_and_never_echoed(
    text: str, digits: int
) -> None:
    bare = text.replace(" ", "").replace("-", "")
    try:
        code = normalize_code(text, digits)
    except InvalidInput as refused:
        assert str(refused) == f"A pickup code has {digits} digits"
        assert not (len(bare) == digits and bare.isascii() and bare.isdigit())
        return
    assert code == bare and len(code) == digits and code.isdigit()
