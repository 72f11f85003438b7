"""PINs of couriers and technicians, and their badges."""

from __future__ import annotations

import base64
import subprocess
import sys

import pytest

from kiosk.access import pins
from kiosk.access.pins import (
    badge_tag,
    check_new_pin,
    hash_pin,
    validate_pin,
    verify_nobody,
    verify_pin,
    weak_pins,
)
from kiosk.errors import InvalidInput

KEY = bytes(range(32))


@pytest.mark.parametrize("pin", ["1234", "0000", "123456789012"])
def test_pins_of_4_to_12_digits_are_valid(pin: str) -> None:
    assert validate_pin(pin) == pin


@pytest.mark.parametrize("pin", ["123", "1234567890123", "12a4", "", "12 34", "١٢٣٤"])
def test_other_pins_are_refused_without_repeating_them(pin: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_pin(pin)
    assert str(caught.value) == "A PIN has 4 to 12 digits"


def test_hash_has_the_documented_shape() -> None:
    scheme, n, r, p, salt, digest = hash_pin("4711").split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(base64.b64decode(salt)) == 16
    assert len(base64.b64decode(digest)) == 32


def test_hash_does_not_contain_the_pin() -> None:
    assert "947113" not in hash_pin("947113")


def test_same_pin_hashes_differently_each_time() -> None:
    assert hash_pin("4711") != hash_pin("4711")


def test_hash_refuses_an_invalid_pin() -> None:
    with pytest.raises(InvalidInput):
        hash_pin("12")


def test_right_pin_verifies() -> None:
    assert verify_pin("4711", hash_pin("4711"))


def test_wrong_pin_does_not_verify() -> None:
    stored = hash_pin("4711")
    assert not verify_pin("4712", stored)
    assert not verify_pin("47110", stored)
    assert not verify_pin("", stored)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "4711",
        "bcrypt$16384$8$1$AAAA$AAAA",
        "scrypt$16384$8$1$AAAA",
        "scrypt$x$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA",
        "scrypt$16384$8$1$not base64!$AAAA",
        "scrypt$16383$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 44,
        "scrypt$1073741824$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 44,
        "scrypt$16384$0$1$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 44,
        "scrypt$16384$8$1$$" + "A" * 44,
    ],
)
def test_malformed_stored_value_gives_false_not_an_error(stored: str) -> None:
    assert verify_pin("4711", stored) is False


def test_verify_survives_a_pin_that_cannot_be_encoded() -> None:
    assert verify_pin("\ud800", hash_pin("4711")) is False


def test_badge_tag_is_stable_and_key_dependent() -> None:
    badge = "B7Q2-99XK-LMN3-0042"
    assert badge_tag(KEY, badge) == badge_tag(KEY, badge)
    assert badge_tag(KEY, badge) != badge_tag(bytes(32), badge)
    assert badge_tag(KEY, badge) != badge_tag(KEY, badge + "x")
    assert len(badge_tag(KEY, badge)) == 64


# A fresh interpreter, as the daemon is: which block glibc takes scrypt's memory from
# depends on what the process freed before.
SIGN_INS = """
from concurrent.futures import ThreadPoolExecutor

from kiosk.access import pins
def rss_mb():
    with open("/proc/self/status") as f:
        return int(f.read().split("VmRSS:")[1].split()[0]) / 1024

before = rss_mb()
with ThreadPoolExecutor(1) as worker:  # the daemon checks PINs on a worker thread
    stored = worker.submit(pins.hash_pin, "2468").result()
    for _ in range(3):
        assert worker.submit(pins.verify_pin, "2468", stored).result()
print(rss_mb() - before)
"""


@pytest.mark.skipif(pins._MALLOC_TRIM is None, reason="no malloc_trim in this C library")
def test_sign_ins_leave_no_scrypt_memory_resident() -> None:
    # Journey: couriers sign in all day; the idle kiosk must not keep scrypt's 16 MB of
    # working memory from each of them.
    done = subprocess.run([sys.executable, "-c", SIGN_INS], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) < 8, f"{float(done.stdout):.1f} MB stayed resident"


# -- the PINs `locker-kiosk users add` accepts ---------------------------------------------


@pytest.mark.parametrize(
    ("role", "digits", "pin"),
    [("courier", 6, "12345"), ("technician", 8, "6204817"), ("courier", 6, "62048a")],
)
def test_a_pin_shorter_than_its_role_needs_is_refused_saying_how_long(
    role: str, digits: int, pin: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_new_pin(pin, role, digits)
    assert str(caught.value) == (
        f"a {role}'s PIN has {digits} to 12 digits (security.{role}_pin_digits = {digits}); "
        "choose a longer one"
    )


@pytest.mark.parametrize("pin", ["000000", "123456", "654321", "890123", "21098765"])
def test_a_pin_a_guesser_tries_first_is_refused_without_repeating_it(pin: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_new_pin(pin, "courier", 6)
    assert "first a guesser tries" in str(caught.value)
    assert pin not in str(caught.value)


def test_a_long_enough_pin_no_guesser_starts_with_is_taken() -> None:
    assert check_new_pin("620481", "courier", 6) == "620481"
    assert check_new_pin("73016254", "technician", 8) == "73016254"


def test_thirty_pins_of_each_length_are_refused_as_first_guesses() -> None:
    assert len(weak_pins(6)) == len(weak_pins(8)) == 30


def test_a_name_that_is_nobodys_takes_a_check_and_never_matches() -> None:
    assert verify_nobody("620481") is False
