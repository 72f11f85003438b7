"""The wire trace: every frame of a traced board, in and out, in a file that stays small.

The drivers run unchanged on the board emulators (pseudo-terminals); the trace is what
their shared port hands it. What a technician reads is the file: its lines, its size,
its mode.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from drivers import wire_trace
from drivers.base import BoardSpec, ChannelSpec, Driver, create_driver
from drivers.errors import DriverError
from drivers.wire_trace import WireTrace
from hw_sim.kerong_emu import KerongBusEmulator
from hw_sim.modbus_emu import ModbusRelayEmulator
from hw_sim.model import Bank
from hw_sim.pty_link import PtyLink

STAMP = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00 "
LINE = re.compile(STAMP + r"(\S+) (\S+) ([<>]) (.*)$")
NOTE = re.compile(STAMP + r"# trace (on|off) for board \S+")


@pytest.fixture
def trace(tmp_path: Path) -> Iterator[WireTrace]:
    made = WireTrace(tmp_path / "data" / "wire-trace.log", max_bytes=4096, keep=2)
    wire_trace.install(made)
    yield made
    wire_trace.install(None)
    made.close()


@pytest.fixture
def bank() -> Bank:
    made = Bank(person="manual")
    for board in ("left", "right", "relays"):
        for lock in (1, 2):
            made.add_compartment(f"{board}-{lock}", board, lock)
    return made


def kerong(name: str, address: int, port: str) -> Driver:
    channels = (ChannelSpec(1, f"{name}-1"), ChannelSpec(2, f"{name}-2"))
    options = {"port": port, "address": address, "timeout_s": 0.05, "retries": 0}
    return create_driver(BoardSpec(name, "kerong", channels, options=options))


def frames(trace: WireTrace) -> list[tuple[str, str, str]]:
    """(board, direction, bytes) of every frame line of the current file."""
    found = []
    for line in trace.path.read_text().splitlines():
        match = LINE.match(line)
        assert match or NOTE.match(line), line
        if match:
            board, _port, direction, shown = match.groups()
            found.append((board, direction, shown))
    return found


def test_a_traced_kerong_board_shows_each_request_and_reply_and_no_other_board(
    trace: WireTrace, bank: Bank, tmp_path: Path
) -> None:
    link = PtyLink(tmp_path / "ttyKR")
    with KerongBusEmulator(bank, {0: "left", 1: "right"}, link).start():
        left, right = kerong("left", 0, link.device), kerong("right", 1, link.device)
        for driver in (left, right):
            driver.open()
        try:
            trace.start("left")
            left.read()
            right.read()
            left.pulse(2, 0.5)
            trace.stop("left")
            left.read()
        finally:
            for driver in (left, right):
                driver.close()

    assert frames(trace) == [
        ("left", ">", "02 00 30 03 35"),
        ("left", "<", "02 00 35 FF FF 00 00 03 38"),
        ("left", ">", "02 01 31 03 37"),
        ("left", "<", "02 00 35 FD FF 00 00 03 36"),
    ]
    lines = trace.path.read_text().splitlines()
    assert lines[0].endswith(" # trace on for board left")
    assert lines[-1].endswith(" # trace off for board left")
    assert f" left {link.device} > 02 00 30 03 35" in lines[1]


def test_a_traced_modbus_board_shows_what_pymodbus_sent_and_read(
    trace: WireTrace, bank: Bank, tmp_path: Path
) -> None:
    with ModbusRelayEmulator(bank, "relays", link_path=tmp_path / "ttyMB") as emulator:
        channels = (ChannelSpec(1, "relays-1"), ChannelSpec(2, "relays-2"))
        options = {"port": emulator.device, "timeout_s": 0.2}
        driver = create_driver(BoardSpec("relays", "modbus", channels, options=options))
        driver.open()
        try:
            trace.start("relays")
            driver.read()
            driver.pulse(1, 0.7)
        finally:
            driver.close()
            trace.stop("relays")

    shown = frames(trace)
    modes = "01 03 10 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 E4 59"  # all normal
    assert shown[:6] == [
        ("relays", ">", "01 03 10 00 00 08 40 CC"),  # pymodbus asks the relay modes
        ("relays", "<", modes),
        ("relays", ">", "01 02 00 00 00 02 F9 CB"),  # the two wired door inputs
        ("relays", "<", "01 02 01 03 E1 89"),  # doors 1 and 2 shut
        ("relays", ">", "01 05 02 00 00 07 8D B0"),  # the flash of lock 1, 0.7 s
        ("relays", "<", "01 05 02 00 00 07 8D B0"),
    ]


def test_a_board_that_does_not_answer_shows_nothing_came(
    trace: WireTrace, bank: Bank, tmp_path: Path
) -> None:
    link = PtyLink(tmp_path / "ttyKR")
    with KerongBusEmulator(bank, {0: "left"}, link).start():
        bank.kill_board("left")
        driver = kerong("left", 0, link.device)
        driver.open()
        trace.start("left")
        with pytest.raises(DriverError):
            driver.read()
        driver.close()

    assert frames(trace)[:2] == [("left", ">", "02 00 30 03 35"), ("left", "<", "(nothing)")]


def test_the_trace_never_grows_past_its_cap_and_keeps_its_rotations_private(
    trace: WireTrace,
) -> None:
    trace.start("left")
    sent = [bytes([n % 256]) * 9 for n in range(400)]  # far more than 3 files hold
    for frame in sent:
        trace.record("left", "/dev/ttyUSB0", wire_trace.OUT, frame, datetime.now(UTC))

    files = sorted(trace.path.parent.iterdir())
    assert [f.name for f in files] == ["wire-trace.log", "wire-trace.log.1", "wire-trace.log.2"]
    for path in files:
        assert path.stat().st_size <= trace.max_bytes
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    newest = trace.path.read_text().splitlines()[-1]
    assert newest.endswith(" left /dev/ttyUSB0 > " + sent[-1].hex(" ").upper())
    assert trace.size() == trace.path.stat().st_size


def test_a_trace_file_left_wider_by_an_earlier_run_is_made_private(trace: WireTrace) -> None:
    trace.path.parent.mkdir(parents=True)
    trace.path.write_text("old\n")
    trace.path.chmod(0o644)

    trace.start("left")

    assert stat.S_IMODE(trace.path.stat().st_mode) == 0o600
    assert trace.path.read_text().startswith("old\n")


def test_a_symlink_in_the_traces_place_is_refused_and_the_trace_goes_off(
    trace: WireTrace, tmp_path: Path
) -> None:
    trace.path.parent.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    trace.path.symlink_to(elsewhere)

    trace.start("left")

    assert trace.boards == frozenset()
    assert trace.error is not None and str(trace.path) in trace.error
    assert not elsewhere.exists()
