"""One serial port shared by the boards of a bus, on a real pseudo-terminal: one bus
object per port whatever the boards call it, opened once and closed when the last board
leaves, refusing a board that cannot share it, and every byte going through it both ways.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers.kerong.bus import KerongBus
from drivers.modbus.bus import ModbusBus
from drivers.shared_port import SERIAL_ERRORS, PortClosed, attach, detach, port_users
from hw_sim.pty_link import PtyLink
from testkit.forked import a_child_holding_every_descriptor


class Board:
    """A board's driver, as the bus sees it: a user known by identity."""

    def __init__(self, name: str) -> None:
        self.name = name


@pytest.fixture
def cable(tmp_path: Path) -> Iterator[PtyLink]:
    """The far end of the bus: a pty whose symlink the boards' config names."""
    with PtyLink(tmp_path / "ttyRS485") as link:
        yield link


@pytest.fixture
def heard(cable: PtyLink) -> queue.SimpleQueue[bytes]:
    """What came down the cable, chunk by chunk."""
    chunks: queue.SimpleQueue[bytes] = queue.SimpleQueue()
    cable.start(lambda data, when: chunks.put(bytes(data)))
    return chunks


@pytest.fixture(autouse=True)
def leave_every_bus() -> Iterator[None]:
    """The registry is the process's: every board a test attached leaves at its end."""
    yield
    for bus, board in ATTACHED:
        detach(bus, board)
    ATTACHED.clear()


ATTACHED: list[tuple[KerongBus, Board]] = []


def kerong(
    cable: PtyLink, board: Board, address: int, baud: int = 19200, rs485: bool = False
) -> KerongBus:
    bus = attach(KerongBus, cable.device, board, board.name, (address,), baud=baud, rs485=rs485)
    ATTACHED.append((bus, board))
    return bus


def test_boards_of_one_bus_share_one_port_opened_once_and_closed_by_the_last_to_leave(
    cable: PtyLink,
) -> None:
    top, bottom = Board("top"), Board("bottom")
    bus = kerong(cable, top, 0)
    assert kerong(cable, bottom, 1) is bus
    assert port_users(cable.device) == ("top", "bottom")
    with bus.lock:
        first = bus.connection(0.1)
        assert bus.connection(0.1) is first  # not opened twice: the port is exclusive
    detach(bus, top)
    assert bus.is_open and port_users(cable.device) == ("bottom",)
    detach(bus, bottom)
    assert not bus.is_open and port_users(cable.device) == ()
    detach(bus, bottom)  # a second leave changes nothing
    assert port_users(cable.device) == ()


def test_the_device_and_a_link_to_it_are_one_bus(cable: PtyLink) -> None:
    by_link = kerong(cable, Board("top"), 0)
    bottom = Board("bottom")
    by_device = attach(KerongBus, cable.tty_path, bottom, "bottom", (1,), baud=19200, rs485=False)
    ATTACHED.append((by_device, bottom))
    assert by_device is by_link
    assert port_users(cable.tty_path) == ("top", "bottom")


def test_a_board_at_an_address_another_board_answers_at_is_refused(cable: PtyLink) -> None:
    kerong(cable, Board("top"), 3)
    with pytest.raises(ValueError, match=r"address 3 on .* is already used by board 'top'"):
        kerong(cable, Board("impostor"), 3)
    assert port_users(cable.device) == ("top",)


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [({"baud": 9600}, "at 19200 baud; .* same baud"), ({"rs485": True}, "rs485 = false")],
)
def test_a_board_that_cannot_talk_at_the_bus_speed_or_mode_is_refused(
    cable: PtyLink, settings: dict[str, Any], complaint: str
) -> None:
    kerong(cable, Board("top"), 0)
    with pytest.raises(ValueError, match=complaint):
        kerong(cable, Board("middle"), 1, **settings)


def test_a_modbus_board_cannot_join_a_kerong_bus(cable: PtyLink) -> None:
    kerong(cable, Board("top"), 0)
    with pytest.raises(ValueError, match="already the kerong bus of board 'top': a modbus board"):
        attach(ModbusBus, cable.device, Board("relays"), "relays", (1,), baud=19200, rs485=False)


def test_frames_written_reach_the_wire_and_bytes_on_the_wire_are_read(
    cable: PtyLink, heard: queue.SimpleQueue[bytes]
) -> None:
    bus = kerong(cable, Board("top"), 0)
    with bus.lock:
        bus.connection(0.1)
        bus.write(bytes.fromhex("0200300335"))
        came = b""
        while len(came) < 5:
            came += heard.get(timeout=5)
        assert came == bytes.fromhex("0200300335")
        cable.write(bytes.fromhex("02003500000000033A"))
        assert bus.read_until(lambda got: len(got) >= 9, 5.0) == bytes.fromhex("02003500000000033A")
        cable.write(b"\x02\x00\x35\xfe")
        assert bus.read(2, 5.0) == b"\x02\x00"  # no more than asked for
        assert bus.read(2, 5.0) == b"\x35\xfe"


def test_a_reply_already_in_before_a_busy_host_looks_is_an_answer_in_time(
    cable: PtyLink, heard: queue.SimpleQueue[bytes]
) -> None:
    # The reply came within the time allowed, but the thread reading it ran again only
    # after that time had passed (a busy Pi): the board answered, it is not silent.
    bus = kerong(cable, Board("top"), 0)
    with bus.lock:
        port = bus.connection(0.1)
        bus.write(bytes.fromhex("0200300335"))
        heard.get(timeout=5)
        cable.write(bytes.fromhex("02003500000000033A"))
        deadline = time.monotonic() + 5
        while port.in_waiting < 9 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert bus.read_until(lambda got: len(got) >= 9, 0.0) == bytes.fromhex("02003500000000033A")


def test_a_port_shut_while_a_child_holds_a_copy_of_it_opens_again(cable: PtyLink) -> None:
    bus = kerong(cable, Board("top"), 0)
    with bus.lock:
        bus.connection(0.1)
        with a_child_holding_every_descriptor():  # a program the daemon starts, say
            bus.shut()  # the "stuck busy" cure: close, then open again
            assert bus.connection(0.1).is_open


def test_bytes_through_a_port_that_is_not_open_are_a_serial_error(cable: PtyLink) -> None:
    bus = kerong(cable, Board("top"), 0)
    with bus.lock, pytest.raises(PortClosed) as caught:
        bus.write(b"\x02")
    assert isinstance(caught.value, SERIAL_ERRORS)
    assert cable.device in str(caught.value)
