"""The kiosk's one door for signed messages: a broker that floods it with forged ones
cannot fill its disk with events, and a copy of a real one never acts twice, however
long the kiosk has kept records."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config import load_config
from kiosk.daemon.housekeeping import ExpiryClock
from kiosk.fleet.channels import ANNOUNCEMENTS, COMMANDS, REPLAYABLE_S, Channel
from kiosk.fleet.envelope import CommandRefused, Keyring, new_key, sign
from kiosk.fleet.gate import EVENTS_PER_HOUR, Gate
from kiosk.notify.text import Notices
from kiosk.store import Store

ROOT = Path(__file__).resolve().parents[2]
DAY_S = 86400.0


def test_refusals_past_the_quota_are_counted_and_told_in_one_event(tmp_path: Path) -> None:
    store = Store(tmp_path / "kiosk.db")
    mono = [100.0]
    key, _ = new_key()
    gate = Gate(Keyring({"ops": key.public_key()}), "KIOSK-1", store, monotonic=lambda: mono[0])
    before = store.last_event_seq()
    for _ in range(EVENTS_PER_HOUR + 480):
        answer = gate.refuse("announcement_refused", b"{}", CommandRefused("unsigned", "no"))
        assert (answer["ok"], answer["reason"]) == (False, "unsigned"), "each is answered"
    assert store.last_event_seq() - before == EVENTS_PER_HOUR
    gate.flush()
    assert store.last_event_seq() - before == EVENTS_PER_HOUR, "the hour is not over"
    mono[0] += 3600
    gate.flush()
    (told,) = store.events(after=before + EVENTS_PER_HOUR)
    assert (told.kind, told.detail["unlogged"], told.detail["reason"]) == (
        "announcement_refused", 480, "unsigned")  # fmt: skip
    gate.refuse("announcement_refused", b"{}", CommandRefused("unsigned", "no"))
    assert "unlogged" not in store.events(after=told.seq)[0].detail, "a fresh hour"


def test_housekeeping_forgets_a_message_only_once_a_copy_of_it_is_refused_as_expired(
    tmp_path: Path,
) -> None:
    now = [1_800_000_000.0]
    store = Store(tmp_path / "kiosk.db", clock=lambda: now[0])
    key, _ = new_key()
    gate = Gate(Keyring({"ops": key.public_key()}), "KIOSK-1", store, clock=lambda: now[0])
    config = load_config(ROOT / "config" / "demo.toml")
    housekeeping = ExpiryClock(store, config, Notices(config), lambda: now[0])

    def take(raw: bytes, channel: Channel) -> str:
        """The message through the gate, recorded as its handler records it."""
        admitted = gate.admit(raw, channel)
        assert admitted.seen is None
        cmd = admitted.command
        store.record_fleet_command(cmd.id, cmd.kid, cmd.command, {}, True, None, {})
        return cmd.id

    # Signed by a clock a little ahead of the kiosk's, for as long as any message lives.
    announcement = sign(key, "ops", "KIOSK-1", "announce", lifetime_s=ANNOUNCEMENTS.max_lifetime_s,
                        now=now[0] + 30)  # fmt: skip
    take(announcement, ANNOUNCEMENTS)
    now[0] += 29 * DAY_S
    selftest = sign(key, "ops", "KIOSK-1", "selftest", now=now[0])
    take(selftest, COMMANDS)

    now[0] += REPLAYABLE_S - 29 * DAY_S  # the last moment a copy would pass the time check
    housekeeping.tick()
    assert gate.admit(announcement, ANNOUNCEMENTS).seen is not None  # a replay, answered as one
    now[0] += config.clock.max_step_s + 1
    housekeeping.tick()

    with pytest.raises(CommandRefused) as late:
        gate.admit(announcement, ANNOUNCEMENTS)
    assert late.value.reason == "expired"
    assert gate.admit(selftest, COMMANDS).seen is not None  # its record is kept, though expired
