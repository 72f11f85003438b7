"""The bounds docs/security.md states for an attacker guessing at the screen, held by the
real throttle over 30 simulated days and computed by kiosk/access/bounds.py (which config
loading uses to refuse settings above 1 %)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kiosk.access import bounds
from kiosk.access.throttle import Throttle, ThrottleLimits
from kiosk.config import SecuritySection
from kiosk.domain import Role

ROOT = Path(__file__).resolve().parents[2]
DEFAULTS = SecuritySection()
SECONDS = bounds.DAYS * 86400
LIVE_PARCELS = 100
STAFF = 50  # enrolled: the couriers and technicians an attacker may guess at


def nonstop_guesses(limits: ThrottleLimits) -> int:
    """Guesses an attacker gets typing as fast as the throttle allows, one a second."""
    now = [0.0]
    throttle = Throttle(lambda: now[0], limits)
    guesses = 0
    while now[0] < SECONDS:
        wait = throttle.retry_after()
        if wait > 0:
            now[0] += wait
            continue
        throttle.record_failure()
        guesses += 1
        now[0] += bounds.SECONDS_PER_TRY
    return guesses


def insider_guesses(limits: ThrottleLimits) -> list[int]:
    """Guesses per enrolled person of a courier who guesses round the other 50 names and
    signs in as themselves (a second too) whenever the next wrong PIN would lock."""
    now = [0.0]
    throttle = Throttle(lambda: now[0], limits)
    per_person = [0] * STAFF
    while now[0] < SECONDS:
        wait = throttle.retry_after()
        if wait > 0:
            now[0] += wait
            continue
        if throttle.failures_in_row == limits.free_attempts - 1:
            throttle.record_success()
            now[0] += bounds.SECONDS_PER_TRY
            continue
        throttle.record_failure()
        per_person[sum(per_person) % STAFF] += 1
        now[0] += bounds.SECONDS_PER_TRY
    return per_person


def test_thirty_days_of_nonstop_code_guessing_get_at_most_7210_tries() -> None:
    assert (
        nonstop_guesses(DEFAULTS.code_limits())
        <= bounds.timeline_guesses(DEFAULTS.code_limits())
        == 7210
    )


def test_chance_of_opening_any_door_in_thirty_days_is_below_one_percent() -> None:
    guesses = nonstop_guesses(DEFAULTS.code_limits())
    chance = 1 - (1 - LIVE_PARCELS / 10**8) ** guesses
    bound = bounds.code_bound(DEFAULTS.code_limits(), 8, LIVE_PARCELS)
    assert chance == pytest.approx(bound.chance)
    assert bound.chance < 0.0075


def test_a_courier_signing_in_between_guesses_gets_at_most_7200_in_thirty_days() -> None:
    limits = DEFAULTS.sign_in_limits()
    assert sum(insider_guesses(limits)) <= bounds.hourly_guesses(limits) == 7200
    assert nonstop_guesses(limits) <= 7200  # an outsider, who cannot sign in, gets fewer


def test_chance_of_signing_in_as_any_of_fifty_staff_in_thirty_days_is_below_one_percent() -> None:
    # Each person's PIN is equally likely among those `users add` allows: g guesses at
    # one person find it with chance g / space (no PIN is guessed twice).
    space = bounds.pin_space(DEFAULTS.pin_digits(Role.COURIER))
    chance_each = [g / space for g in insider_guesses(DEFAULTS.sign_in_limits())]
    miss_all = 1.0
    for chance in chance_each:
        miss_all *= 1 - chance
    bound = bounds.sign_in_bound(DEFAULTS.sign_in_limits(), DEFAULTS.shortest_pin_digits)
    assert 1 - miss_all <= bound.chance <= 0.0073


def test_a_technician_pin_alone_holds_to_one_in_ten_thousand() -> None:
    bound = bounds.sign_in_bound(DEFAULTS.sign_in_limits(), DEFAULTS.pin_digits(Role.TECHNICIAN))
    assert bound.chance < 0.0001


def test_the_figures_in_docs_security_md_are_the_ones_the_code_computes() -> None:
    text = (ROOT / "docs" / "security.md").read_text()
    code = bounds.code_bound(DEFAULTS.code_limits(), 8, LIVE_PARCELS)
    staff = bounds.sign_in_bound(DEFAULTS.sign_in_limits(), DEFAULTS.shortest_pin_digits)
    tech = bounds.sign_in_bound(DEFAULTS.sign_in_limits(), DEFAULTS.technician_pin_digits)
    stated = set(re.findall(r"\*\*([\d.,]+ (?:%|tries))\*\*", text))
    assert {f"{code.guesses:,} tries", code.percent, f"{staff.guesses:,} tries",
            staff.percent, tech.percent} <= stated  # fmt: skip
    assert f"{staff.space:,}" in text
