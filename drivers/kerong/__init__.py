"""Kerong KR-CU lock boards (CU16, CU48) on an RS-485 bus.

:mod:`~drivers.kerong.driver` is the board (options, what its replies mean), the CU16's
and what the CU48 (:mod:`~drivers.kerong.cu48`) shares with it; :mod:`~drivers.kerong.link`
one board's exchanges on its bus (retries, the stuck-port cure, counters);
:mod:`~drivers.kerong.bus` the port the boards of a bus share;
:mod:`~drivers.kerong.frames` and :mod:`~drivers.kerong.frames_cu48` the two frame
families, pure.
"""

from __future__ import annotations

from drivers.kerong.bus import Cu48Bus, KerongBus
from drivers.kerong.cu48 import KerongCu48Driver
from drivers.kerong.driver import KerongDriver, readings_from_frame, readings_from_reply
from drivers.kerong.link import ERROR_KINDS

__all__ = [
    "ERROR_KINDS",
    "Cu48Bus",
    "KerongBus",
    "KerongCu48Driver",
    "KerongDriver",
    "readings_from_frame",
    "readings_from_reply",
]
