"""Codes and PINs typed while the keypad is locked: refused unread, logged, and counted."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kiosk.config import load_config
from kiosk.errors import AuthError, Throttled
from kiosk.service import Kiosk, Settings
from kiosk.store import Store

ROOT = Path(__file__).resolve().parents[2]
TYPED = "31415926"
PIN = "271828"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class NoHardware:
    """A pickup refused at the keypad never reaches the doors."""

    def __init__(self) -> None:
        self.door_listeners: list[object] = []
        self.health_listeners: list[object] = []


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def kiosk(tmp_path: Path, clock: Clock) -> Kiosk:
    config = load_config(ROOT / "config" / "demo.toml")  # 5 free tries, 30 s, alarm past 20
    store = Store(tmp_path / "kiosk.db", clock=clock)
    return Kiosk(config, store, NoHardware(), b"k" * 32, settings=Settings(wall_clock=clock))  # type: ignore[arg-type]


def try_code(kiosk: Kiosk, code: str = TYPED) -> str:
    """What the customer was told: ``wrong`` or ``locked``."""
    try:
        asyncio.run(kiosk.pickup(code))
    except AuthError:
        return "wrong"
    except Throttled:
        return "locked"
    raise AssertionError("a pickup with no parcel in the kiosk succeeded")


def kinds(kiosk: Kiosk) -> list[str]:
    return [e.kind for e in kiosk.store.events()]


def test_a_code_typed_during_a_lockout_is_logged_without_the_code(
    kiosk: Kiosk, clock: Clock
) -> None:
    answers = [try_code(kiosk) for _ in range(5)]
    clock.now += 10
    answers.append(try_code(kiosk))

    assert answers == ["wrong"] * 5 + ["locked"]
    assert kinds(kiosk)[-2:] == ["keypad_locked", "code_refused_locked"]
    refused = kiosk.store.events()[-1]
    assert (refused.severity, refused.detail) == ("warning", {"in_row": 5, "retry_after": 20.0})
    assert TYPED not in str(refused.as_dict())


def test_codes_refused_during_lockouts_count_towards_the_brute_force_alarm(
    kiosk: Kiosk, clock: Clock
) -> None:
    answers = [try_code(kiosk) for _ in range(5)]  # 5 wrong: locked for 30 s
    answers += [try_code(kiosk) for _ in range(15)]  # 15 refused, still within the hour
    assert "brute_force_suspected" not in kinds(kiosk)

    answers.append(try_code(kiosk))

    assert answers == ["wrong"] * 5 + ["locked"] * 16
    assert kinds(kiosk)[-2:] == ["code_refused_locked", "brute_force_suspected"]
    clock.now += 30
    assert try_code(kiosk) == "wrong"  # the lockout was not made longer by the refusals


def try_pin(kiosk: Kiosk, user: str | None = "maria") -> str:
    """What the courier was told: ``wrong`` or ``locked``."""
    try:
        asyncio.run(kiosk.sign_in(pin=PIN, user=user))
    except AuthError:
        return "wrong"
    except Throttled:
        return "locked"
    raise AssertionError("a sign-in with no users on the kiosk succeeded")


def test_a_pin_typed_during_a_sign_in_lockout_is_logged_without_the_pin(
    kiosk: Kiosk, clock: Clock
) -> None:
    answers = [try_pin(kiosk) for _ in range(5)]
    clock.now += 10
    answers.append(try_pin(kiosk))

    assert answers == ["wrong"] * 5 + ["locked"]
    assert kinds(kiosk)[-2:] == ["keypad_locked", "sign_in_refused_locked"]
    refused = kiosk.store.events()[-1]
    assert (refused.severity, refused.detail) == (
        "warning",
        {"in_row": 5, "retry_after": 20.0, "user": "maria"},
    )
    assert PIN not in str(refused.as_dict())
    clock.now += 20
    assert try_pin(kiosk) == "wrong"  # the refusal did not make the lockout longer
