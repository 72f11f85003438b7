"""The Kerong KR-CU48 driver: one board of 48 locks on an RS-485 bus, over pyserial.

The same board as far as the kiosk goes (:class:`~drivers.kerong.driver.KerongBoard`:
board-timed unlocks, a status poll, the retries and the stuck-port cure of
:mod:`drivers.kerong.link`), in another frame family (:mod:`drivers.kerong.frames_cu48`)::

    status, board 0            02 00 00 60 03 65
    unlock lock 2, board 0     02 00 01 61 03 67
    reply: lock 1 closed       02 00 00 75 01 00 00 00 00 00 00 00 00 00 00 00 03 7B

Options (``[[boards]]`` keys, :attr:`KerongCu48Driver.OPTIONS`): those of every Kerong
board (``port``, ``baud`` 19200, ``address`` 0..15, ``lock_closed_bit`` 1, ``timeout_s``,
``retries``, ``rs485``) and:

``item_sensors``   [?] off by default: bytes 10-15 of the reply are most likely the
                   infrared item bits of locks 1-48, but no client decodes them; switch
                   on once a bench shows a covered sensor setting its bit.
``frame_layout``   [?] ``"board-lock"`` (the default: the board's id in byte 1 of a
                   request, the lock's index in byte 2, as the hand log of a real board
                   has it) or ``"lock-board"`` (the other way round, as a later client
                   sends them). Both are the same bytes for a board at id 0.
``unlock_ms``      [?] the board's own unlock (energise) time, 500 by default (Kerong's
                   advice for solenoid locks; 1000 for motor locks): no public CU48
                   command sets or reads it, so it is not sent; the safety layer spaces a
                   power group's fires by it (:meth:`KerongCu48Driver.pulse_length`).

A CU48 bus is a bus of CU48 boards only (``protocol`` ``"kerong-cu48"``): [?] whether a
CU16 and a CU48 ignore each other's frames on one pair of wires is not known.
"""

from __future__ import annotations

from typing import ClassVar

from drivers.kerong.bus import Cu48Bus, KerongSerial
from drivers.kerong.driver import COMMON_OPTIONS, KerongBoard, Options
from drivers.kerong.frames import Dialect
from drivers.kerong.frames_cu48 import LAYOUTS, dialect

__all__ = ["KerongCu48Driver"]

_UNLOCK_MS = (100, 2000)  # what the setting may say: at most the safety layer's cap


class KerongCu48Driver(KerongBoard):
    """One Kerong CU48 board. See the module docstring for its options."""

    OPTIONS: ClassVar[Options] = {
        **COMMON_OPTIONS,
        "item_sensors": (bool, False),
        "frame_layout": (str, "board-lock"),
        "unlock_ms": (int, 500),
    }
    bus_kind: ClassVar[type[KerongSerial]] = Cu48Bus
    protocol: ClassVar[str] = "kerong-cu48"
    # A scan asks in the default layout: at id 0 both layouts are the same bytes.
    family: ClassVar[Dialect] = dialect(LAYOUTS[0])

    def _read_model_options(self) -> None:
        self.frame_layout: str = self._option("frame_layout", str)
        self.unlock_ms: int = self._option("unlock_ms", int)

    def dialect(self) -> Dialect:
        # An unknown layout is refused by _model_problems; the default stands in meanwhile.
        if self.frame_layout not in LAYOUTS:
            return self.family
        return dialect(self.frame_layout)

    def pulse_length(self, seconds: float) -> float:
        """The board's own unlock time, ``unlock_ms`` (the host cannot set it)."""
        return max(seconds, self.unlock_ms / 1000)

    def _model_problems(self) -> list[str]:
        problems = []
        if self.frame_layout not in LAYOUTS:
            choices = " or ".join(repr(layout) for layout in LAYOUTS)
            problems.append(f"option frame_layout must be {choices}, not {self.frame_layout!r}")
        low, high = _UNLOCK_MS
        if not low <= self.unlock_ms <= high:
            problems.append(f"option unlock_ms must be {low}..{high}, not {self.unlock_ms}")
        return problems
