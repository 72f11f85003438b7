"""What the kiosk says out loud, in English and German: where a door is in the wall, each
key as it is pressed (never a digit where bystanders hear it), and the keypad's lockout."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.config.model import UiSection
from kiosk.ui import i18n
from kiosk.ui.speech import DEFAULT_RATE, ENGINES
from kiosk.ui.speech.phrases import (
    CLEAR,
    DELETE,
    KeyEcho,
    door_position,
    key_echo,
    lockout_countdown,
    lockout_over,
    lockout_started,
    next_countdown_mark,
)
from tests.unit.config_files import problems_of, write_config

DIGIT_WORDS = {
    "en": ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
    "de": ["null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun"],
}


@pytest.fixture(params=["en", "de"])
def lang(request: pytest.FixtureRequest) -> Iterator[str]:
    i18n.set_language(request.param)
    yield request.param
    i18n.set_language("en")


@pytest.fixture
def german() -> Iterator[None]:
    i18n.set_language("de")
    yield
    i18n.set_language("en")


def wall(*columns: int) -> list[dict[str, Any]]:
    """A wall of ``len(columns)`` columns with that many doors each: A01.. in the first,
    B01.. in the second, as ``wall_layout`` gives them from the config."""
    return [
        {"id": f"{'ABCDEFGH'[c]}{r:02d}", "size": "S", "column": c + 1, "row": r}
        for c, doors in enumerate(columns)
        for r in range(1, doors + 1)
    ]


DEMO = wall(6, 5, 5)  # the demo's 16 doors in columns A, B and C
SIX = wall(3, 3, 3, 3, 3, 3)


# -- where a door is -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("door", "layout", "english", "german"),
    [
        ("A04", DEMO, "Door A04, left column, fourth from the top.",
         "Tür A04, linke Spalte, vierte von oben."),
        ("B01", DEMO, "Door B01, middle column, at the top.",
         "Tür B01, mittlere Spalte, ganz oben."),
        ("C05", DEMO, "Door C05, right column, at the bottom.",
         "Tür C05, rechte Spalte, ganz unten."),
        ("B02", wall(4, 4), "Door B02, right column, second from the top.",
         "Tür B02, rechte Spalte, zweite von oben."),
        ("A03", wall(8), "Door A03, third from the top.", "Tür A03, dritte von oben."),
        ("B01", wall(4, 1, 4), "Door B01, middle column.", "Tür B01, mittlere Spalte."),
        ("B02", SIX, "Door B02, second column from the left, second from the top.",
         "Tür B02, zweite Spalte von links, zweite von oben."),
        ("E02", SIX, "Door E02, second column from the right, second from the top.",
         "Tür E02, zweite Spalte von rechts, zweite von oben."),
        ("C03", wall(3, 3, 3, 3, 3), "Door C03, middle column, at the bottom.",
         "Tür C03, mittlere Spalte, ganz unten."),
        ("A13", wall(14), "Door A13, number 13 from the top.", "Tür A13, Nummer 13 von oben."),
        ("A01", wall(1), "Door A01.", "Tür A01."),
        ("Z99", DEMO, "Door Z99.", "Tür Z99."),
    ],
)  # fmt: skip
def test_a_door_is_said_with_its_column_and_its_place_from_the_top(
    door: str, layout: list[dict[str, Any]], english: str, german: str
) -> None:
    assert door_position(door, layout) == english
    i18n.set_language("de")
    try:
        assert door_position(door, layout) == german
    finally:
        i18n.set_language("en")


def test_a_door_is_counted_among_its_column_whatever_rows_the_config_numbered() -> None:
    # [[compartments]] may give rows with gaps (a screen or a parcel slot between doors)
    layout = [
        {"id": "L1", "column": 1, "row": 2},
        {"id": "L2", "column": 1, "row": 5},
        {"id": "L3", "column": 1, "row": 9},
        {"id": "R1", "column": 4, "row": 1},
    ]
    assert door_position("L2", layout) == "Door L2, left column, second from the top."
    assert door_position("R1", layout) == "Door R1, right column."


# -- keys ------------------------------------------------------------------------------


def test_with_headphones_each_digit_is_said(lang: str) -> None:
    for digit in "0123456789":
        assert key_echo(digit, KeyEcho.DIGITS) == f"{digit}."


def test_out_loud_a_key_never_tells_which_digit_it_was(lang: str) -> None:
    said = {key_echo(digit, KeyEcho.NEUTRAL) for digit in "0123456789"}

    assert len(said) == 1, "every digit sounds the same to a bystander"
    (phrase,) = said
    assert phrase == {"en": "Digit entered.", "de": "Ziffer eingegeben."}[lang]
    assert not re.search(r"\d", phrase)
    words = re.findall(r"\w+", phrase.lower())
    assert not set(words) & set(DIGIT_WORDS[lang])


def test_deleting_and_the_plus_are_said_in_either_mode(german: None) -> None:
    for mode in KeyEcho:
        assert key_echo(DELETE, mode) == "Gelöscht."
        assert key_echo(CLEAR, mode) == "Alles gelöscht."
        assert key_echo("+", mode) == "Plus."


# -- the lockout ------------------------------------------------------------------------


def test_the_lockout_is_said_without_blaming_the_person_and_rounds_the_wait_up() -> None:
    assert lockout_started(29.2) == (
        "After several wrong codes, the keypad is paused. You can type again in 30 seconds."
    )
    assert lockout_countdown(0.3) == "You can type again in 1 second."
    assert lockout_countdown(90) == "You can type again in 90 seconds."
    assert lockout_countdown(121) == "You can type again in 3 minutes."
    assert lockout_over() == "The keypad is ready again."


def test_the_lockout_in_german(german: None) -> None:
    assert lockout_started(60) == (
        "Nach mehreren falschen Codes ist das Tastenfeld vorübergehend gesperrt. "
        "Sie können in 60 Sekunden wieder tippen."
    )
    assert lockout_countdown(1) == "Sie können in 1 Sekunde wieder tippen."
    assert lockout_countdown(1800) == "Sie können in 30 Minuten wieder tippen."
    assert lockout_over() == "Das Tastenfeld ist wieder bereit."


def test_a_long_lockout_is_said_each_minute_then_at_a_few_marks_not_every_second() -> None:
    marks = []
    left: float | None = 300.0
    while (left := next_countdown_mark(left)) is not None:
        marks.append(left)

    assert marks == [240, 180, 120, 90, 60, 30, 20, 10, 5]
    assert next_countdown_mark(30.5) == 30
    assert next_countdown_mark(4) is None


# -- the settings ----------------------------------------------------------------------


def test_the_kiosk_and_the_touchscreen_agree_on_the_speech_defaults() -> None:
    assert UiSection().speech_rate == DEFAULT_RATE
    assert UiSection().speech in ENGINES


@pytest.mark.usefixtures("fake_drivers")
def test_an_unknown_speech_engine_or_rate_is_refused_naming_the_key(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[ui]\nspeech = "festival"\nspeech_rate = 600')

    assert problems_of(path) == [
        f"{path}: ui.speech: must be one of espeak-ng, none, got 'festival'",
        f"{path}: ui.speech_rate: must be between 80 and 450, got 600",
    ]
