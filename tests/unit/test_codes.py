"""Pickup codes: tags, fresh codes, normalising what people type, the key file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kiosk.access.codes import (
    KeyFileError,
    code_tag,
    derive_code,
    load_or_create_key,
    new_code,
    normalize_code,
)
from kiosk.errors import InvalidInput, LockerError
from kiosk.protocol.codes import group_code

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def never_taken(tag: str) -> bool:
    return False


def test_tag_is_stable_for_the_same_key_and_code() -> None:
    assert code_tag(KEY, "12345678") == code_tag(KEY, "12345678")


def test_tag_is_hex_sha256_and_not_the_code() -> None:
    tag = code_tag(KEY, "12345678")
    assert len(tag) == 64
    assert int(tag, 16) >= 0
    assert "12345678" not in tag


def test_tag_depends_on_the_key_and_the_code() -> None:
    assert code_tag(KEY, "12345678") != code_tag(OTHER_KEY, "12345678")
    assert code_tag(KEY, "12345678") != code_tag(KEY, "12345679")


@pytest.mark.parametrize("digits", [6, 8, 12])
def test_new_codes_have_the_configured_number_of_digits(digits: int) -> None:
    for _ in range(50):
        code, tag, _ = new_code(KEY, digits, never_taken)
        assert len(code) == digits
        assert code.isdigit()
        assert tag == code_tag(KEY, code)


def test_new_codes_may_start_with_zero() -> None:
    # One code in ten starts with 0: missing it in 500 draws has odds of about 1e-23.
    codes = [new_code(KEY, 6, never_taken)[0] for _ in range(500)]
    assert any(code.startswith("0") for code in codes)


def test_new_codes_are_not_all_the_same() -> None:
    codes = {new_code(KEY, 8, never_taken)[0] for _ in range(100)}
    assert len(codes) > 90


def test_new_code_draws_again_while_the_tag_is_taken() -> None:
    asked: list[str] = []

    def taken_three_times(tag: str) -> bool:
        asked.append(tag)
        return len(asked) <= 3

    code, tag, _ = new_code(KEY, 8, taken_three_times)
    assert len(asked) == 4
    assert tag == asked[-1] == code_tag(KEY, code)


def test_new_code_gives_up_after_100_draws() -> None:
    calls = 0

    def always_taken(tag: str) -> bool:
        nonlocal calls
        calls += 1
        return True

    with pytest.raises(LockerError, match="100 draws"):
        new_code(KEY, 8, always_taken)
    assert calls == 100


@pytest.mark.parametrize("digits", [5, 13])
def test_code_lengths_outside_6_to_12_are_refused(digits: int) -> None:
    with pytest.raises(InvalidInput):
        new_code(KEY, digits, never_taken)


@pytest.mark.parametrize("typed", ["12345678", "1234 5678", "1234-5678", " 12-34 56-78 "])
def test_normalize_drops_spaces_and_dashes(typed: str) -> None:
    assert normalize_code(typed, 8) == "12345678"


def test_normalize_keeps_leading_zeros() -> None:
    assert normalize_code("0000 0001", 8) == "00000001"


@pytest.mark.parametrize(
    "typed", ["1234567", "123456789", "1234567a", "", "١٢٣٤٥٦٧٨", "12345678\n", "1234+678"]
)
def test_normalize_refuses_anything_but_the_right_number_of_digits(typed: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_code(typed, 8)
    assert str(caught.value) == "A pickup code has 8 digits"


def test_normalize_error_never_repeats_the_input() -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_code("9876543", 8)
    assert "9876543" not in str(caught.value)


def test_normalize_message_names_the_configured_length() -> None:
    with pytest.raises(InvalidInput, match="A pickup code has 6 digits"):
        normalize_code("12345", 6)


def test_key_is_created_at_first_start_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.key"
    key = load_or_create_key(path)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == key


def test_key_is_created_0600_even_with_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        load_or_create_key(tmp_path / "kiosk.key")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "kiosk.key").stat().st_mode) == 0o600


def test_key_is_loaded_unchanged_at_the_next_start(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.key"
    assert load_or_create_key(path) == load_or_create_key(path)


def test_two_kiosks_get_different_keys(tmp_path: Path) -> None:
    assert load_or_create_key(tmp_path / "a.key") != load_or_create_key(tmp_path / "b.key")


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602])
def test_key_readable_or_writable_by_others_is_refused_with_the_chmod_hint(
    tmp_path: Path, mode: int
) -> None:
    path = tmp_path / "kiosk.key"
    load_or_create_key(path)
    path.chmod(mode)
    with pytest.raises(KeyFileError) as caught:
        load_or_create_key(path)
    assert f"chmod 600 {path}" in str(caught.value)


def test_key_of_the_wrong_length_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.key"
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.write(fd, b"short")
    os.close(fd)
    with pytest.raises(KeyFileError, match="5 bytes"):
        load_or_create_key(path)


def test_key_file_error_is_a_locker_error() -> None:
    assert issubclass(KeyFileError, LockerError)


def test_key_file_longer_than_32_bytes_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.key"
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.write(fd, bytes(64))
    os.close(fd)
    with pytest.raises(KeyFileError, match="64 bytes, expected 32"):
        load_or_create_key(path)


def test_a_code_can_be_derived_again_from_its_nonce_but_not_without_the_key() -> None:
    code, tag, nonce = new_code(KEY, 8, never_taken)
    assert derive_code(KEY, nonce, 8) == code
    assert code_tag(KEY, code) == tag
    others = {derive_code(bytes([i]) * 32, nonce, 8) for i in range(20)}
    assert len(others) > 15


@pytest.mark.parametrize(
    ("code", "shown"),
    [
        ("91265383", "9126 5383"),
        ("912653", "912 653"),
        ("912653831", "912 653 831"),
        ("9126538312", "9126 538 312"),
        ("912653831234", "9126 5383 1234"),
        ("91______", "91__ ____"),
    ],
)
def test_a_code_is_read_in_groups_of_at_most_four_as_the_message_shows_it(
    code: str, shown: str
) -> None:
    assert group_code(code) == shown
