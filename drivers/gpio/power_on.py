r"""What a Raspberry Pi's header pins do from power-on until software sets them.

For the first seconds after power is applied (boot ROM, bootloader, firmware, then the
``gpio=`` lines of ``config.txt``, then the kernel, then the daemon) every pin is an
input held only by its **power-on pull**. A lock output stage sees that pull as its
input level, so an output whose *off* level is not the pin's power-on level switches its
lock on at every cold boot, for seconds, on every such pin at once::

    power on     boot ROM, bootloader, firmware      config.txt gpio=   daemon: all_off()
       |<------------------ a few seconds ------------------>|<--------->|
  BCM 13 ___________________________________________________________/‾‾‾‾‾‾‾‾‾‾
         pulled low: an active-low relay input is ON here              off (high)

The pulls are the SoC's and are applied at power-on reset only; a soft reboot keeps
whatever pulls software set last (raspberrypi/firmware issue 487). So the rule the
config check holds a ``gpio`` board to is: an output's off level must be its pin's
power-on level, or an external resistor strong enough to win over the internal pull
must hold it there (the board's ``held_off_pins``).

What the product knows, per SoC (``docs/hardware.md`` has the table with its sources):

* BCM2835/2836/2837 (Pi 1, 2, 3, Zero, Zero 2, CM1, CM3) and BCM2711 (Pi 4, 400, CM4):
  every GPIO an input, **BCM 0-8 pulled up, 9-27 pulled down** (50-65 kOhm; 33-73 kOhm
  on the BCM2711) [F].
* BCM2712 with RP1 (Pi 5, 500, CM5): **not published anywhere we could find**. The
  product assumes nothing: every pin's power-on level counts as unknown, so every lock
  output of a Pi 5 needs an external resistor that holds it off (``held_off_pins``).
  An external 10 kOhm wins over any internal pull of 33 kOhm or more, whatever its
  direction; a bench measurement on a cold boot (``pinctrl get`` with no ``gpio=``
  lines) may lift this later.
* BCM 2 and 3 have 1.8 kOhm pull-ups to 3.3 V on the Pi's own board (I2C): they read
  high from power-on on every model, and no external resistor can pull them low
  against that.

Some pins are driven by the firmware during boot, whatever their pull, and are no
place for a lock output: BCM 0 and 1 (the HAT ID EEPROM, probed at every boot) and
BCM 14 and 15 (the serial port's TXD and RXD, which the firmware sets up while it
boots; TXD has been seen going high then).

Pure: no gpiozero, no file access. (The driver reads the running Pi's name from the
device tree, ``/proc/device-tree/model``, and asks :func:`same_pulls` whether the
configured ``pi_model`` has that Pi's pulls.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "DEFAULT_MODEL",
    "PI_MODELS",
    "PowerOn",
    "boot_driven",
    "model_name",
    "power_on",
    "same_pulls",
]

_LEGACY = "legacy"  # BCM2835/6/7 and BCM2711: one split, one table
_RP1 = "rp1"  # BCM2712 + RP1: not published

PI_MODELS: dict[str, tuple[str, str]] = {
    # the config's value: (what a person calls it, the SoC's pull table)
    "1": ("Pi 1", _LEGACY),
    "2": ("Pi 2", _LEGACY),
    "3": ("Pi 3", _LEGACY),
    "4": ("Pi 4", _LEGACY),
    "400": ("Pi 400", _LEGACY),
    "zero": ("Pi Zero", _LEGACY),
    "zero-2": ("Pi Zero 2", _LEGACY),
    "cm1": ("Compute Module 1", _LEGACY),
    "cm3": ("Compute Module 3", _LEGACY),
    "cm4": ("Compute Module 4", _LEGACY),
    "5": ("Pi 5", _RP1),
    "500": ("Pi 500", _RP1),
    "cm5": ("Compute Module 5", _RP1),
}
"""The values ``pi_model`` may take."""

DEFAULT_MODEL = "4"
"""The Pi 4 is what most kiosks run on; a Pi 1-4, Zero or CM1-4 has the same pulls."""

_PULL_UP_BELOW = 9  # BCM 0-8 pulled up, 9-27 down, on the legacy SoCs
_HEADER_PINS = range(28)
_BOARD_PULL_UPS = {2: "1.8 kOhm", 3: "1.8 kOhm"}
_UART = "BCM 14 and 15 are the serial port, set up by the firmware while it boots (TXD seen high)"
_BOOT_DRIVEN = {
    0: "the firmware probes the HAT ID EEPROM on BCM 0 and 1 at every boot",
    1: "the firmware probes the HAT ID EEPROM on BCM 0 and 1 at every boot",
    14: _UART,
    15: _UART,
}


@dataclass(frozen=True)
class PowerOn:
    """A pin's level from power-on until software sets it.

    ``level`` is 1 (pulled up), 0 (pulled down) or ``None`` (not known); ``why`` says
    where that comes from, for a person; ``fixed`` is true for a pull on the Pi's own
    board that no external resistor can win against.
    """

    level: int | None
    why: str
    fixed: bool = False


def model_name(model: str) -> str:
    """What a person calls ``model`` (``"5"`` -> ``"Pi 5"``); raises ``KeyError``."""
    return PI_MODELS[model][0]


def power_on(model: str, pin: int) -> PowerOn:
    """The power-on level of BCM ``pin`` on a ``model`` (a key of :data:`PI_MODELS`)."""
    name, table = PI_MODELS[model]
    if pin in _BOARD_PULL_UPS:
        pull = _BOARD_PULL_UPS[pin]
        return PowerOn(1, f"the {name} has a {pull} pull-up on BCM {pin} on its board", True)
    if pin not in _HEADER_PINS:
        return PowerOn(None, f"BCM {pin} is not a pin of the {name}'s 40-pin header")
    if table == _RP1:
        return PowerOn(None, f"the {name}'s power-on pulls are not published")
    if pin < _PULL_UP_BELOW:
        return PowerOn(1, f"the {name} pulls BCM 0-8 up at power-on")
    return PowerOn(0, f"the {name} pulls BCM 9-27 down at power-on")


def boot_driven(pin: int) -> str | None:
    """Why the firmware drives ``pin`` during boot, whatever its pull; ``None`` if not."""
    return _BOOT_DRIVEN.get(pin)


def same_pulls(model: str, device_tree_model: str) -> bool:
    """Whether the Pi named ``device_tree_model`` (``"Raspberry Pi 5 Model B Rev 1.0"``,
    as its device tree says) has the power-on pulls of ``model``; a name that is not a
    Raspberry Pi's is taken to agree (nothing to compare)."""
    if "Raspberry Pi" not in device_tree_model:
        return True
    rp1 = re.search(r"\bPi (5|500)\b|Compute Module 5", device_tree_model) is not None
    return (PI_MODELS[model][1] == _RP1) == rp1
