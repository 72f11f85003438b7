"""A broker that floods a kiosk with forged messages cannot fill its disk with events."""

from __future__ import annotations

from pathlib import Path

from kiosk.fleet.envelope import CommandRefused, Keyring, new_key
from kiosk.fleet.gate import EVENTS_PER_HOUR, Gate
from kiosk.store import Store


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
