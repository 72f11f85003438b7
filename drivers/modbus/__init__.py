"""Modbus RTU relay boards (Waveshare-style, 8 relays, with door inputs) on an RS-485 bus.

:mod:`~drivers.modbus.driver` is the board (options, reads, the board-timed flash, its
retries and counters); :mod:`~drivers.modbus.bus` the port and pymodbus client the boards
of a bus share; :mod:`~drivers.modbus.frames` the framing, pure.
"""

from __future__ import annotations

from drivers.modbus.driver import ERROR_KINDS, BadReply, ModbusExceptionReply, ModbusRelayDriver

__all__ = ["ERROR_KINDS", "BadReply", "ModbusExceptionReply", "ModbusRelayDriver"]
