"""Kerong KR-CU lock boards (CU16) on an RS-485 bus.

:mod:`~drivers.kerong.driver` is the board (options, what its replies mean);
:mod:`~drivers.kerong.link` one board's exchanges on its bus (retries, the stuck-port
cure, counters); :mod:`~drivers.kerong.bus` the port the boards of a bus share;
:mod:`~drivers.kerong.frames` the frames, pure.
"""

from __future__ import annotations

from drivers.kerong.bus import KerongBus
from drivers.kerong.driver import KerongDriver, readings_from_frame, readings_from_reply
from drivers.kerong.link import ERROR_KINDS

__all__ = ["ERROR_KINDS", "KerongBus", "KerongDriver", "readings_from_frame", "readings_from_reply"]
