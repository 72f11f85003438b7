"""Parcel barcodes as scanners send them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.barcode import GS, display_barcode, normalize_barcode
from kiosk.errors import InvalidInput


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("]C1JJD0001234567", "JJD0001234567"),
        ("]Q3https://track.example/1Z999", "https://track.example/1Z999"),
        ("]d201095011010209171719050810ABCD1234", "01095011010209171719050810ABCD1234"),
        ("]E0" + "4006381333931", "4006381333931"),
    ],
)
def test_aim_symbology_identifier_is_stripped(raw: str, expected: str) -> None:
    assert normalize_barcode(raw) == expected


def test_only_a_leading_aim_identifier_is_stripped() -> None:
    assert normalize_barcode("AB]C1CD") == "AB]C1CD"
    assert normalize_barcode("]C1]C1X") == "]C1X"


def test_a_bracket_that_is_no_aim_identifier_is_kept() -> None:
    assert normalize_barcode("]1ABC") == "]1ABC"


def test_group_separator_is_kept_as_data() -> None:
    raw = "]d20109501101020917" + GS + "10ABCD1234" + GS
    assert normalize_barcode(raw) == "0109501101020917" + GS + "10ABCD1234" + GS


def test_scanner_line_endings_and_control_characters_are_stripped() -> None:
    assert normalize_barcode("\x02JJD0001\x00234\r\n") == "JJD0001234"
    assert normalize_barcode("JJD\x7f000\x851234\t") == "JJD0001234"


def test_surrounding_whitespace_is_stripped_but_inner_spaces_kept() -> None:
    assert normalize_barcode("  ]C1 JJD 0001  ") == "JJD 0001"


def test_64_characters_are_accepted_and_65_refused() -> None:
    assert normalize_barcode("A" * 64) == "A" * 64
    with pytest.raises(InvalidInput) as caught:
        normalize_barcode("A" * 65)
    assert str(caught.value) == "A parcel barcode has at most 64 characters"


def test_length_is_counted_after_stripping() -> None:
    assert normalize_barcode("]C1" + "A" * 64 + "\r\n") == "A" * 64


def test_max_length_is_configurable() -> None:
    with pytest.raises(InvalidInput, match="at most 10 characters"):
        normalize_barcode("A" * 11, max_length=10)


@pytest.mark.parametrize("raw", ["", "   ", "\r\n", "]C1", "]C1  \r\n", GS, GS + " " + GS])
def test_nothing_left_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput, match="That does not look like a parcel barcode"):
        normalize_barcode(raw)


@pytest.mark.parametrize("raw", ["JJD\u200b0001", "JJD\u00a00001", "JJD\ue0000001"])
def test_unprintable_characters_inside_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput, match="That does not look like a parcel barcode"):
        normalize_barcode(raw)


def test_display_shows_the_group_separator() -> None:
    assert display_barcode("0109501101020917" + GS + "10ABCD") == "0109501101020917<GS>10ABCD"
    assert display_barcode("JJD0001") == "JJD0001"


@given(raw=st.text(), max_length=st.integers(min_value=1, max_value=80))
def test_output_is_printable_and_short_enough_or_input_is_refused(
    raw: str, max_length: int
) -> None:
    try:
        barcode = normalize_barcode(raw, max_length)
    except InvalidInput:
        return
    assert 0 < len(barcode) <= max_length
    assert all(ch == GS or ch.isprintable() for ch in barcode)
    assert barcode == barcode.strip(" ")


@given(
    raw=st.text(
        alphabet=st.sampled_from(["]", "C", "1", "d", "2", GS, " ", "\r", "\n", "\x00", "A"]),
        max_size=80,
    )
)
def test_scanner_like_noise_gives_a_barcode_or_invalid_input(raw: str) -> None:
    try:
        barcode = normalize_barcode(raw)
    except InvalidInput:
        return
    assert barcode
    assert all(ch == GS or ch.isprintable() for ch in barcode)
    assert len(barcode) <= 64


@given(raw=st.text())
def test_normalizing_twice_changes_nothing_more_unless_a_new_prefix_shows(raw: str) -> None:
    try:
        once = normalize_barcode(raw, 200)
    except InvalidInput:
        return
    if once.startswith("]"):
        return
    assert normalize_barcode(once, 200) == once
