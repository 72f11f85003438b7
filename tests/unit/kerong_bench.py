"""Emulated CU16 boards on a real pseudo-terminal, for the Kerong driver tests.

Three boards (addresses 0, 1, 2: "top", "middle", "bottom") share one emulated bus, each
with four compartments on locks 1-4. The person is manual: doors move only when a pulse
pops them or a test opens or closes them. The ``bank``, ``emulator`` and ``make_driver``
fixtures (``tests/unit/conftest.py``) build on what is here.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drivers.base import BoardSpec, ChannelSpec, DoorState, create_driver
from drivers.kerong import KerongDriver
from hw_sim.kerong_emu import KerongBusEmulator
from hw_sim.model import Bank
from hw_sim.pty_link import PtyLink

BOARDS = {0: "top", 1: "middle", 2: "bottom"}
LOCKS = (1, 2, 3, 4)
TIMEOUT_S = 0.05
RETRIES = 3
SLOW_MACHINE_S = 0.5  # where a test counts errors exactly, a busy machine must not add any


MakeDriver = Callable[..., KerongDriver]


def compartment(board: str, lock: int) -> str:
    return f"{board[0].upper()}{lock}"


_PORTS = itertools.count()


def start_emulator(bank: Bank, where: Path, **kwargs: Any) -> KerongBusEmulator:
    """An emulated bus linked at a path of its own in ``where``.

    Drivers open the link, not the pty: a pty number freed by a closed emulator may be
    handed to another process's emulator at once, and a driver reopening the bare pty
    path would talk to that one; a removed link fails as a vanished port does.
    """
    link = PtyLink(where / f"ttyKR{next(_PORTS)}")
    return KerongBusEmulator(bank, BOARDS, link, seed=7, **kwargs).start()


def build(board: str = "top", **options: Any) -> KerongDriver:
    address = next(a for a, name in BOARDS.items() if name == board)
    channels = tuple(ChannelSpec(lock, compartment(board, lock)) for lock in LOCKS)
    settings = {"address": address, "timeout_s": TIMEOUT_S, "retries": RETRIES, **options}
    driver = create_driver(BoardSpec(board, "kerong", channels, options=settings))
    assert isinstance(driver, KerongDriver)
    return driver


def doors(driver: KerongDriver) -> dict[int, DoorState]:
    return {lock: reading.door for lock, reading in driver.read().items()}
