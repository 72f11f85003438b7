"""A Kerong board that falls silent just as one of its locks fires is reported offline
once the offline rule is met (1 s without a valid reply, 3 missed polls), and not later
than a few poll periods after that.

The unlock holds the board while it waits for an answer, so the poll that would notice
the silence waits behind it. The unlock must give up as soon as a poll would: its reply
wait and one time-out of asking for the status. The retry schedule of a plain read
(``retries + 1`` time-outs and growing waits) would keep the poll waiting well past the
bound. The emulator falls silent at the moment it hears the unlock, so every run meets
the worst case, not only an unlucky one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.base import BoardSpec, ChannelReading, ChannelSpec, create_driver
from drivers.poller import Poller
from drivers.safety import LockSafety
from hw_sim.kerong_emu import UNLOCK, KerongBusEmulator, KerongRequest
from hw_sim.model import Bank
from hw_sim.pty_link import PtyLink

PERIOD_S = 0.1  # the kiosk's default poll rate, 10 Hz
OFFLINE_AFTER_S, OFFLINE_AFTER = 1.0, 3  # the kiosk's defaults ([doors])
TIMEOUT_S = 0.05  # a status reply takes 7.3 ms on the wire at 19200 baud
RETRIES = 3  # a plain read of a silent board: 4 x 50 ms + 20 + 40 + 80 ms = 0.34 s
LOCKS = (1, 2, 3, 4)


class Silencer:
    """Silences board 0 when the emulator hears an unlock for it; notes when."""

    def __init__(self, emulator: KerongBusEmulator) -> None:
        self.emulator = emulator
        self.silenced_at: float | None = None

    def __call__(self, request: KerongRequest, when: float) -> None:
        if request.cmd == UNLOCK and self.silenced_at is None:
            self.emulator.set_silent(0)
            self.silenced_at = time.monotonic()


class Health:
    def __init__(self) -> None:
        self.offline_at: float | None = None
        self.samples = 0
        self.changed = threading.Event()

    def on_sample(self, board: str, readings: dict[int, ChannelReading] | None, t: float) -> None:
        self.samples += 1
        self.changed.set()

    def on_health(self, board: str, online: bool, error: str | None) -> None:
        if not online and self.offline_at is None:
            self.offline_at = time.monotonic()
        self.changed.set()


@pytest.fixture
def bank() -> Bank:
    made = Bank(person="manual")
    for lock in LOCKS:
        made.add_compartment(f"T{lock}", "top", lock)
    return made


@pytest.fixture
def emulator(bank: Bank, tmp_path: Path) -> Iterator[KerongBusEmulator]:
    made = KerongBusEmulator(bank, {0: "top"}, PtyLink(tmp_path / "ttyKR0"), pace=True, seed=3)
    made.start()
    yield made
    made.close()


@pytest.fixture
def safety(emulator: KerongBusEmulator, tmp_path: Path) -> Iterator[LockSafety]:
    options = {"port": str(tmp_path / "ttyKR0"), "address": 0, "timeout_s": TIMEOUT_S,
               "retries": RETRIES}  # fmt: skip
    channels = tuple(ChannelSpec(lock, f"T{lock}") for lock in LOCKS)
    layer = LockSafety([create_driver(BoardSpec("top", "kerong", channels, options=options))])
    layer.start()
    yield layer
    layer.close()


@pytest.mark.parametrize("run", range(3))
def test_a_board_silent_from_the_unlock_on_is_offline_a_second_later_within_3_poll_periods(
    bank: Bank, emulator: KerongBusEmulator, safety: LockSafety, run: int
) -> None:
    health = Health()
    poller = Poller(safety, "top", health.on_sample, health.on_health, hz=1 / PERIOD_S,
                    offline_after=OFFLINE_AFTER, offline_after_s=OFFLINE_AFTER_S)  # fmt: skip
    poller.start()
    try:
        deadline = time.monotonic() + 5
        while health.samples < 2:
            assert time.monotonic() < deadline, "the board was never read"
            health.changed.wait(0.05)
        time.sleep(run * PERIOD_S / 3)  # a different phase against the poll grid each run
        silencer = Silencer(emulator)
        emulator.on_request = silencer

        result = safety.unlock("top", 2).result(timeout=5)

        deadline = time.monotonic() + 5
        while health.offline_at is None:
            assert time.monotonic() < deadline, "the silent board was never reported offline"
            health.changed.wait(0.05)
    finally:
        poller.stop()
    assert not result.ok and result.error is not None
    assert "may not have fired" in result.error
    assert bank.fire_counts().get("T2", 0) == 0  # silent before it acted on the frame
    assert silencer.silenced_at is not None
    offline_after_s = health.offline_at - silencer.silenced_at
    # The last answered poll began at most a period before the silence: the verdict is
    # 1 s after it at the earliest; then the poll that fails past the second, and its
    # budget (the unlock's own waits, 0.1 s, are well inside the second).
    shown = f"offline after {offline_after_s * 1000:.0f} ms"
    assert OFFLINE_AFTER_S - PERIOD_S <= offline_after_s <= OFFLINE_AFTER_S + 3 * PERIOD_S, shown
