"""A keyboard-wedge scanner's key events, recorded as the kernel delivers them."""

from __future__ import annotations

from drivers.scanner.keymap import KEY_DOWN, KEY_REPEAT, KEY_UP, KeyMapper

SHIFT, CTRL, ALT, ENTER, CAPS = 42, 29, 56, 28, 58
CODES = {"1": 2, "Z": 44, "9": 10, "A": 30, "0": 11, "]": 27, "4": 5, "2": 3}
KP = {"0": 82, "2": 80, "9": 73}


def press(code: int) -> list[tuple[int, int]]:
    return [(code, KEY_DOWN), (code, KEY_UP)]


def shifted(code: int) -> list[tuple[int, int]]:
    return [(SHIFT, KEY_DOWN), *press(code), (SHIFT, KEY_UP)]


def run(events: list[tuple[int, int]]) -> list[str]:
    mapper = KeyMapper()
    return [t for code, value in events if (t := mapper.feed(code, value)) is not None]


def test_digits_and_enter_make_one_scan() -> None:
    events = [e for d in "42" for e in press(CODES[d])] + press(ENTER)
    assert run(events) == ["42"]


def test_shift_makes_capitals_as_in_a_ups_barcode() -> None:
    events = press(CODES["1"]) + shifted(CODES["Z"]) + press(CODES["9"]) + press(ENTER)
    assert run(events) == ["1Z9"]


def test_ctrl_right_bracket_is_the_gs1_separator() -> None:
    events = [*press(CODES["0"]), (CTRL, KEY_DOWN), *press(27), (CTRL, KEY_UP), *press(CODES["1"])]
    assert run([*events, *press(ENTER)]) == ["0\x1d1"]


def test_alt_029_on_the_keypad_is_the_gs1_separator() -> None:
    alt = [(ALT, KEY_DOWN), *press(KP["0"]), *press(KP["2"]), *press(KP["9"]), (ALT, KEY_UP)]
    assert run([*press(CODES["4"]), *alt, *press(CODES["2"]), *press(ENTER)]) == ["4\x1d2"]


def test_caps_lock_inverts_shift_and_repeats_are_ignored() -> None:
    events = [*press(CAPS), *press(CODES["A"]), (CODES["A"], KEY_REPEAT), *shifted(CODES["A"])]
    assert run([*events, *press(ENTER)]) == ["Aa"]


def test_two_scans_in_a_row_are_kept_apart() -> None:
    one = [*press(CODES["1"]), *press(ENTER)]
    two = [*press(CODES["2"]), *press(ENTER)]
    assert run(one + two) == ["1", "2"]
