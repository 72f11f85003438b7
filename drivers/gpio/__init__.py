"""Locks and door sensors wired straight to the Pi's GPIO header, through gpiozero.

:mod:`~drivers.gpio.driver` drives the pins; :mod:`~drivers.gpio.layout` checks what a
board's options say is wired where, without gpiozero, so the config check and its tests
run on any machine. :class:`GpioDriver` is therefore imported on first use: importing
this package (or its layout) does not load gpiozero.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drivers.gpio.driver import GpioDriver

__all__ = ["GpioDriver"]


def __getattr__(name: str) -> object:
    if name == "GpioDriver":
        from drivers.gpio.driver import GpioDriver

        return GpioDriver
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
