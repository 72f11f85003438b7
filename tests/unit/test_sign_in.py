"""Staff sign-in: a name or a badge, and the person's PIN; the throttle it meets.

A real kiosk core on a real store and real scrypt; the clocks are injected.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kiosk.access import pins
from kiosk.core import Kiosk
from kiosk.domain import Role
from kiosk.errors import AuthError, InvalidInput, Throttled
from tests.unit.test_pickup_lockout import Clock, make_kiosk

KEY = b"k" * 32
COURIER = ("maria", "620481")
TECHNICIAN = ("tomas", "73016254")
WRONG = "999117"


@pytest.fixture
def clock() -> Clock:
    return Clock(5_000.0)


@pytest.fixture
def wall() -> Clock:
    return Clock(1_700_000_000.0)


@pytest.fixture
def kiosk(tmp_path: Path, wall: Clock, clock: Clock) -> Kiosk:
    made = make_kiosk(tmp_path / "kiosk.db", wall, clock)
    enrol(made, COURIER, Role.COURIER, badge="BADGE-M")
    enrol(made, TECHNICIAN, Role.TECHNICIAN, badge="BADGE-T")
    return made


def enrol(kiosk: Kiosk, who: tuple[str, str], role: Role, badge: str | None = None) -> None:
    tag = pins.badge_tag(KEY, badge) if badge else None
    kiosk.store.add_user(who[0], role, pins.hash_pin(who[1]), tag)


def sign_in(kiosk: Kiosk, pin: str | None, user: str | None = None,
            badge: str | None = None) -> str:  # fmt: skip
    """Who was signed in, or what the person was told: ``wrong``, ``locked``, ``invalid``."""
    try:
        return asyncio.run(kiosk.sign_in(pin, user, badge)).user
    except AuthError as refused:
        assert str(refused) == "Sign-in failed: name, badge or PIN not recognised."
        return "wrong"
    except Throttled:
        return "locked"
    except InvalidInput:
        return "invalid"


def kinds(kiosk: Kiosk) -> list[str]:
    return [e.kind for e in kiosk.store.events(limit=10_000)]


def test_a_courier_signs_in_with_their_name_typed_in_capitals_and_their_pin(
    kiosk: Kiosk,
) -> None:
    assert sign_in(kiosk, COURIER[1], user="MARIA") == "maria"
    assert kinds(kiosk)[-1] == "signed_in"


def test_a_pin_alone_signs_nobody_in_and_is_not_a_guess(kiosk: Kiosk) -> None:
    assert sign_in(kiosk, COURIER[1]) == "invalid"
    assert sign_in(kiosk, TECHNICIAN[1]) == "invalid"
    assert "sign_in_failed" not in kinds(kiosk)
    assert kiosk.keypads.view("pin") == {"retry_after": 0.0, "refused": 0}


def test_a_badge_alone_signs_nobody_in(kiosk: Kiosk) -> None:
    assert sign_in(kiosk, None, badge="BADGE-T") == "invalid"
    assert sign_in(kiosk, None, badge="BADGE-M") == "invalid"
    assert "signed_in" not in kinds(kiosk)


def test_a_technician_signs_in_with_their_badge_and_their_pin(kiosk: Kiosk) -> None:
    assert sign_in(kiosk, WRONG + "00", badge="BADGE-T") == "wrong"
    assert sign_in(kiosk, TECHNICIAN[1], badge="BADGE-T") == "tomas"
    failed = next(e for e in kiosk.store.events(limit=100) if e.kind == "sign_in_failed")
    assert failed.detail == {"in_row": 1, "user": "tomas", "badge": True}


def test_a_name_or_badge_of_nobody_is_answered_as_a_wrong_pin_and_counted(
    kiosk: Kiosk,
) -> None:
    answers = [
        sign_in(kiosk, COURIER[1], user="mario"),
        sign_in(kiosk, COURIER[1], badge="BADGE-X"),
        sign_in(kiosk, WRONG, user="maria"),
    ]
    assert answers == ["wrong"] * 3
    assert [e.detail["in_row"] for e in kiosk.store.events(limit=100)
            if e.kind == "sign_in_failed"] == [1, 2, 3]  # fmt: skip


def test_a_technician_pin_shorter_than_the_role_allows_is_refused_like_a_wrong_one(
    kiosk: Kiosk,
) -> None:
    # Enrolled before technicians needed 8 digits: it no longer signs in.
    enrol(kiosk, ("theo", "620482"), Role.TECHNICIAN)
    assert sign_in(kiosk, "620482", user="theo") == "wrong"
    assert sign_in(kiosk, "6204", user="theo") == "invalid"  # shorter than any PIN


def test_no_pin_is_written_in_any_event(kiosk: Kiosk) -> None:
    for pin in (WRONG, COURIER[1], TECHNICIAN[1]):
        sign_in(kiosk, pin, user="maria")
    logged = str([e.as_dict() for e in kiosk.store.events(limit=1000)])
    assert not any(pin in logged for pin in (WRONG, COURIER[1], TECHNICIAN[1]))


# -- the throttle ------------------------------------------------------------------------


def test_signing_in_between_guesses_does_not_get_a_courier_past_ten_guesses_an_hour(
    kiosk: Kiosk, clock: Clock
) -> None:
    # Journey: courier Maria tries PINs for technician Tomas and signs in as herself
    # whenever the next wrong one would lock the keypad.
    answers = []
    for _ in range(3):
        answers += [sign_in(kiosk, f"{n:08d}", user="tomas") for n in range(4)]
        answers.append(sign_in(kiosk, COURIER[1], user="maria"))
        clock.now += 30
    assert answers.count("wrong") == 10  # then the hour's limit: locked
    assert answers[-3:] == ["locked", "locked", "locked"]
    assert 3500 < kiosk.keypads.retry_after("pin") <= 3600
    assert kinds(kiosk).count("brute_force_suspected") == 1
    assert "keypad_locked" in kinds(kiosk)


def test_a_right_pin_in_a_burst_of_wrong_ones_lifts_only_the_lockout_it_started(
    kiosk: Kiosk,
) -> None:
    for _ in range(4):
        sign_in(kiosk, WRONG, user="maria")
    assert sign_in(kiosk, COURIER[1], user="maria") == "maria"  # the 5th try, but right
    assert kiosk.keypads.retry_after("pin") == 0.0
    assert "keypad_locked" not in kinds(kiosk)


def test_concurrent_wrong_sign_ins_are_counted_before_their_pins_are_checked(
    kiosk: Kiosk,
) -> None:
    async def burst() -> list[BaseException | object]:
        tries = [kiosk.sign_in(WRONG, user="tomas") for _ in range(40)]
        return await asyncio.gather(*tries, return_exceptions=True)

    answers = asyncio.run(burst())
    assert sum(isinstance(a, AuthError) for a in answers) == 5
    assert sum(isinstance(a, Throttled) for a in answers) == 35
    assert kinds(kiosk).count("sign_in_failed") == 5
    kiosk.keypads.flush()
    refused = [e for e in kiosk.store.events(limit=1000) if e.kind == "sign_in_refused_locked"]
    assert [e.detail for e in refused] == [{"count": 35, "in_row": 5, "users": ["tomas"]}]
    assert "brute_force_suspected" in kinds(kiosk)


def test_a_wall_clock_step_neither_ends_nor_stretches_a_sign_in_lockout(
    kiosk: Kiosk, wall: Clock, clock: Clock
) -> None:
    for _ in range(5):
        sign_in(kiosk, WRONG, user="maria")
    clock.now += 10
    wall.now += 4 * 86400  # a Pi without a battery clock sets itself
    assert sign_in(kiosk, COURIER[1], user="maria") == "locked"
    assert kiosk.keypads.retry_after("pin") == 20.0
    wall.now -= 5 * 86400  # and back, past where it was
    assert kiosk.keypads.retry_after("pin") == 20.0
    clock.now += 20
    assert sign_in(kiosk, COURIER[1], user="maria") == "maria"


def test_a_reboot_does_not_shorten_a_sign_in_lockout_to_nothing(
    tmp_path: Path, kiosk: Kiosk, clock: Clock
) -> None:
    for _ in range(5):
        sign_in(kiosk, WRONG, user="maria")
    clock.now += 10
    booted = Clock(3.0)  # the monotonic clock starts again after a reboot
    after = make_kiosk(tmp_path / "kiosk.db", Clock(1_700_000_000.0), booted, boot="boot-2")
    assert after.keypads.retry_after("pin") == 30.0  # what was left when last saved
    assert sign_in(after, COURIER[1], user="maria") == "locked"


def test_a_spoiled_throttle_state_locks_sign_in_rather_than_opening_it(
    tmp_path: Path, kiosk: Kiosk, clock: Clock
) -> None:
    kiosk.store.set_meta("throttle.pin", '{"version": 2, "boot": "boot-1"}')
    after = make_kiosk(tmp_path / "kiosk.db", Clock(1_700_000_000.0), clock)
    assert after.keypads.retry_after("pin") == 3600.0
    assert sign_in(after, COURIER[1], user="maria") == "locked"
