"""Codes typed while the keypad is locked: refused unread, counted, and the count logged.

The kiosk runs on a real store; its clocks are injected: the wall clock (event times)
and the monotonic clock the lockouts run on.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kiosk.config import load_config
from kiosk.core import Kiosk, Settings
from kiosk.errors import AuthError, Throttled
from kiosk.keypads import SAVE_REFUSALS_S
from kiosk.store import Store

ROOT = Path(__file__).resolve().parents[2]
TYPED = "31415926"


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class NoHardware:
    """A pickup refused at the keypad never reaches the doors."""

    def __init__(self) -> None:
        self.door_listeners: list[object] = []
        self.health_listeners: list[object] = []


def make_kiosk(
    path: Path, wall: Clock, mono: Clock, boot: str | None = "boot-1", config: str = "demo.toml"
) -> Kiosk:
    """A kiosk on the store at ``path`` (5 free tries, 30 s doubling, alarm past 20);
    ``boot=None``: the boot the daemon reads."""
    store = Store(path, clock=wall)
    settings = Settings(wall_clock=wall, monotonic=mono, boot_id=boot)
    return Kiosk(load_config(ROOT / "config" / config), store, NoHardware(), b"k" * 32,  # type: ignore[arg-type]
                 settings=settings)  # fmt: skip


@pytest.fixture
def clock() -> Clock:
    """The monotonic clock the lockouts run on."""
    return Clock(5_000.0)


@pytest.fixture
def kiosk(tmp_path: Path, clock: Clock) -> Kiosk:
    return make_kiosk(tmp_path / "kiosk.db", Clock(), clock)


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
    return [e.kind for e in kiosk.store.events(limit=100_000)]


def test_codes_typed_during_a_lockout_are_counted_in_one_event_when_it_ends(
    kiosk: Kiosk, clock: Clock
) -> None:
    answers = [try_code(kiosk) for _ in range(5)]
    clock.now += 10
    answers += [try_code(kiosk) for _ in range(3)]
    assert answers == ["wrong"] * 5 + ["locked"] * 3
    assert kinds(kiosk)[-2:] == ["wrong_code", "keypad_locked"]  # no row per refusal
    assert kiosk.keypads.view("code") == {"retry_after": 20.0, "refused": 3}

    clock.now += 20
    assert try_code(kiosk) == "wrong"  # the refusals did not make the lockout longer

    assert kinds(kiosk)[-3:] == ["keypad_locked", "code_refused_locked", "wrong_code"]
    refused = kiosk.store.events(limit=1000)[-2]
    assert (refused.severity, refused.detail) == ("warning", {"count": 3, "in_row": 5})
    assert TYPED not in str(refused.as_dict())
    assert kiosk.keypads.view("code") == {"retry_after": 0.0, "refused": 0}


def test_the_status_says_the_keypad_is_locked_until_the_moment_it_reads_a_code_again(
    kiosk: Kiosk, clock: Clock
) -> None:
    answers = [try_code(kiosk) for _ in range(5)]  # 5 wrong: locked for 30 s
    clock.now += 29.96

    assert kiosk.keypads.view("code")["retry_after"] == 0.1  # not 0.0 40 ms before the end
    answers.append(try_code(kiosk))
    clock.now += 0.04
    assert kiosk.keypads.view("code")["retry_after"] == 0.0
    answers.append(try_code(kiosk))

    assert answers == ["wrong"] * 5 + ["locked", "wrong"]


@pytest.mark.usefixtures("under_the_unit")
def test_under_the_unit_a_restart_neither_ends_nor_restarts_a_lockout(
    tmp_path: Path, clock: Clock
) -> None:
    kiosk = make_kiosk(tmp_path / "kiosk.db", Clock(), clock, boot=None)
    answers = [try_code(kiosk) for _ in range(5)]  # 5 wrong: locked for 30 s
    clock.now += 20

    restarted = make_kiosk(tmp_path / "kiosk.db", Clock(), clock, boot=None)

    assert restarted.keypads.view("code")["retry_after"] == 10.0  # not 30 s again
    answers.append(try_code(restarted))
    clock.now += 10
    answers.append(try_code(restarted))
    assert answers == ["wrong"] * 5 + ["locked", "wrong"]


def test_codes_refused_during_lockouts_count_towards_the_brute_force_alarm(
    kiosk: Kiosk, clock: Clock
) -> None:
    answers = [try_code(kiosk) for _ in range(5)]  # 5 wrong: locked for 30 s
    answers += [try_code(kiosk) for _ in range(15)]  # 15 refused, still within the hour
    assert "brute_force_suspected" not in kinds(kiosk)

    answers.append(try_code(kiosk))

    assert answers == ["wrong"] * 5 + ["locked"] * 16
    assert kinds(kiosk)[-2:] == ["keypad_locked", "brute_force_suspected"]
    clock.now += 30
    assert try_code(kiosk) == "wrong"
    (summary,) = [e for e in kiosk.store.events(limit=1000) if e.kind == "code_refused_locked"]
    assert summary.detail["count"] == 16


def test_the_count_of_refused_codes_is_written_when_the_daemon_stops(
    kiosk: Kiosk, clock: Clock
) -> None:
    for _ in range(7):
        try_code(kiosk)
    kiosk.keypads.flush()
    assert kinds(kiosk)[-1] == "code_refused_locked"
    assert kiosk.store.events(limit=1000)[-1].detail == {"count": 2, "in_row": 5}


def test_the_count_of_refused_codes_survives_a_crash(tmp_path: Path, clock: Clock) -> None:
    kiosk = make_kiosk(tmp_path / "kiosk.db", Clock(), clock)
    for wait in (30, 60, 0):  # three runs of 5: the third lockout lasts 120 s
        assert [try_code(kiosk) for _ in range(5)] == ["wrong"] * 5
        clock.now += wait
    assert [try_code(kiosk) for _ in range(4)] == ["locked"] * 4  # the first saved the count
    clock.now += SAVE_REFUSALS_S
    try_code(kiosk)  # a minute on: saved again, with all 5

    restarted = make_kiosk(tmp_path / "kiosk.db", Clock(), clock)  # kill -9: no flush
    assert restarted.keypads.view("code")["refused"] == 5
    clock.now += 120 - SAVE_REFUSALS_S
    assert try_code(restarted) == "wrong"
    (summary,) = [e for e in restarted.store.events(limit=1000) if e.kind == "code_refused_locked"]
    assert summary.detail == {"count": 5, "in_row": 15}


def test_a_flood_of_refused_codes_grows_the_store_by_under_a_megabyte(
    tmp_path: Path, clock: Clock
) -> None:
    # Journey: one local client sends 100,000 codes, as fast as it can, for half an hour.
    kiosk = make_kiosk(tmp_path / "kiosk.db", Clock(), clock)
    try_code(kiosk)
    before = store_bytes(tmp_path)
    answers = {"wrong": 0, "locked": 0}

    async def flood() -> None:
        for _ in range(100_000):
            try:
                await kiosk.pickup(TYPED)
            except AuthError:
                answers["wrong"] += 1
            except Throttled:
                answers["locked"] += 1
            clock.now += 0.018  # 30 minutes in all

    asyncio.run(flood())
    kiosk.keypads.flush()
    grown = store_bytes(tmp_path) - before
    print(f"\n100,000 codes ({answers['locked']:,} refused): the store grew {grown:,} bytes "
          "(goal: at most 1,000,000)")  # fmt: skip

    assert grown <= 1_000_000
    assert answers["wrong"] < 40
    refused = [e.detail["count"] for e in kiosk.store.events(limit=10_000)
               if e.kind == "code_refused_locked"]  # fmt: skip
    assert sum(refused) == answers["locked"]  # every refusal is in the chain, as a count
    assert "brute_force_suspected" in kinds(kiosk)
    assert kiosk.store.verify_events().ok


def store_bytes(data_dir: Path) -> int:
    return sum(p.stat().st_size for p in data_dir.glob("kiosk.db*"))
