"""Throttle settings that would void the brute-force bound are refused at config load,
with the figure (the arithmetic of kiosk/access/bounds.py, as docs/security.md states it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.access import bounds
from kiosk.config import SecuritySection, load_config
from tests.unit.config_files import problems_of, write_config

pytestmark = pytest.mark.usefixtures("fake_drivers")


def test_short_lockouts_that_let_codes_be_guessed_are_refused_with_the_chance(
    tmp_path: Path,
) -> None:
    path = write_config(tmp_path, "[security]\nlockout_initial_s = 1\nlockout_max_s = 1")

    assert problems_of(path) == [
        f"{path}: security.lockout_initial_s: these settings let a guesser try 2,592,000 "
        "pickup codes in 30 days: with 2 live parcels (one per compartment) among 8-digit "
        "codes that is a 5.05 % chance to open a door, above 1 %; lengthen the lockouts or "
        "use longer codes (docs/security.md)"
    ]


def test_six_digit_codes_on_a_kiosk_of_two_compartments_are_refused_naming_the_digits(
    tmp_path: Path,
) -> None:
    path = write_config(tmp_path, "[policy]\npickup_code_digits = 6")

    (problem,) = problems_of(path)

    assert problem == (
        f"{path}: policy.pickup_code_digits: these settings let a guesser try 7,210 pickup "
        "codes in 30 days: with 2 live parcels (one per compartment) among 6-digit codes "
        "that is a 1.43 % chance to open a door, above 1 %; lengthen the lockouts or use "
        "longer codes (docs/security.md)"
    )


def test_more_sign_in_tries_an_hour_than_the_pins_can_take_are_refused(
    tmp_path: Path,
) -> None:
    path = write_config(tmp_path, "[security]\nsign_in_failures_per_hour = 20")

    assert problems_of(path) == [
        f"{path}: security.sign_in_failures_per_hour: these settings let a guesser try 14,400 "
        "sign-ins in 30 days: with 6-digit PINs that is a 1.44 % chance to sign in as "
        "somebody, above 1 %; lower sign_in_failures_per_hour or ask for longer PINs "
        "(docs/security.md)"
    ]


def test_five_digit_courier_pins_are_refused_under_the_default_limit(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[security]\ncourier_pin_digits = 5")

    (problem,) = problems_of(path)

    assert problem.startswith(f"{path}: security.courier_pin_digits: these settings let a "
                              "guesser try 7,200 sign-ins in 30 days: with 5-digit PINs that "
                              "is a 7.20 % chance")  # fmt: skip


def test_five_digit_pins_with_one_sign_in_failure_an_hour_are_accepted(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, "[security]\ncourier_pin_digits = 5\nsign_in_failures_per_hour = 1"
    )

    security = load_config(path).security

    bound = bounds.sign_in_bound(security.sign_in_limits(), security.shortest_pin_digits)
    assert (bound.guesses, bound.percent) == (720, "0.72 %")


def test_the_defaults_keep_both_bounds_under_one_percent_for_a_hundred_parcels() -> None:
    security = SecuritySection()
    code = bounds.code_bound(security.code_limits(), 8, 100)
    staff = bounds.sign_in_bound(security.sign_in_limits(), security.shortest_pin_digits)
    assert (code.guesses, code.percent, code.too_high) == (7210, "0.72 %", False)
    assert (staff.guesses, staff.percent, staff.too_high) == (7200, "0.72 %", False)
