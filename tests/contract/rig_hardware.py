"""The contract's rig for a real board on a bench: ``pytest -m hardware``.

::

    pytest -m hardware tests/contract --board-config bench.toml --board left

The board is built from its ``[[boards]]`` table in a kiosk config (the installation's
own, or a copy for the bench); the compartments on it tell the contract which locks are
wired, and ``[locks] pulse_ms`` how long to pulse them. Nothing else of the kiosk runs:
stop the daemon first (``systemctl stop locker-kiosk``), it holds the port.

Where the simulated rigs have a simulated person, this one has the person at the bench,
spoken to on the terminal (``/dev/tty``, so pytest's output capture does not hide it):

* a door that must be shut (before each test, and after the contract popped one) is
  asked for, and the door *sensors* say when it is done: nobody presses a key;
* a dead board is made by hand: the person unplugs the board's bus (or its power) and
  presses Enter, and plugs it back when asked. A board on the Pi's own GPIO pins cannot
  be unplugged that way: those tests are skipped (MockFactory covers them).

Instructions go to the terminal, or to stderr without one (``pytest -s`` shows them);
a step that needs Enter is skipped without a terminal.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import IO

import pytest

from drivers.base import BoardSpec, DoorState, Driver, create_driver
from drivers.errors import DriverError
from drivers.safety import MAX_PULSE_S
from kiosk.config import ConfigError, load_config

PERSON_TIMEOUT_S = 120.0
"""How long the rig waits for the person at the bench to shut a door."""
_POLL_S = 0.1
_GRACE_S = 1.0  # a door being shut already is not worth a word
_BACK_ONLINE_S = 10.0  # a board just plugged back in may take a moment to answer


class Bench:
    """The person at the bench: instructions on the terminal, Enter to go on."""

    def __init__(self) -> None:
        self._tty: tuple[IO[str], IO[str]] | None = None  # (to read, to write)

    def say(self, text: str) -> None:
        """Show ``text`` on the terminal (on stderr without one: ``pytest -s`` shows it)."""
        tty = self._terminal(required=False)
        out = tty[1] if tty is not None else sys.__stderr__
        if out is not None:
            out.write(f"\n[bench] {text}\n")
            out.flush()

    def confirm(self, text: str) -> None:
        """Say ``text`` and wait until the person presses Enter (skip without a terminal)."""
        tty = self._terminal(required=True)
        assert tty is not None
        self.say(f"{text} Then press Enter.")
        tty[0].readline()

    def close(self) -> None:
        tty, self._tty = self._tty, None
        for stream in tty or ():
            stream.close()

    def _terminal(self, required: bool) -> tuple[IO[str], IO[str]] | None:
        if self._tty is None:
            try:
                reader = open("/dev/tty", encoding="utf-8")  # noqa: SIM115 - closed by close()
                self._tty = reader, open("/dev/tty", "w", encoding="utf-8")  # noqa: SIM115
            except OSError as exc:
                if required:
                    pytest.skip(f"this step needs a person at a terminal: {exc}")
        return self._tty


class HardwareRig:
    """A real board named in a kiosk config; see the module docstring."""

    def __init__(self, config_path: Path, board: str | None, bench: Bench) -> None:
        try:
            config = load_config(config_path)
        except ConfigError as exc:
            pytest.fail(f"--board-config {config_path}:\n{exc}", pytrace=False)
        specs = {spec.name: spec for spec in config.board_specs()}
        self.spec = _pick(specs, board, config_path)
        self.board = self.spec.name
        self.locks = tuple(channel.lock for channel in self.spec.channels)
        if not self.locks:
            pytest.fail(f"board {self.board!r} has no compartments in {config_path}")
        self.pulse_s = min(config.locks.pulse_ms / 1000, MAX_PULSE_S)
        self.door_timeout_s = PERSON_TIMEOUT_S
        self.bench = bench
        self._unplugged = False
        self.settle()

    @classmethod
    def from_options(cls, options: pytest.Config) -> HardwareRig:
        """The rig of ``--board-config`` and ``--board``."""
        path = options.getoption("--board-config")
        if not path:
            pytest.skip("needs a board on the bench: --board-config PATH --board NAME")
        return cls(Path(path), options.getoption("--board"), Bench())

    def make_driver(self) -> Driver:
        return create_driver(self.spec)

    def ask(self, instruction: str) -> None:
        """Tell the person what to do; the sensors will say when it is done."""
        self.bench.say(instruction)

    def kill_board(self) -> None:
        if self.spec.driver == "gpio":
            pytest.skip("a board on the Pi's own pins cannot be unplugged at the bench")
        self.bench.confirm(
            f"Unplug board {self.board!r}: pull its bus wires (RS-485 A and B) or its power supply."
        )
        self._unplugged = True

    def revive_board(self) -> None:
        self.bench.confirm(f"Plug board {self.board!r} back in and wait for its power LED.")
        self._unplugged = False

    def teardown(self) -> None:
        try:
            if self._unplugged:
                self.revive_board()
            self.settle()
        finally:
            self.bench.close()

    def settle(self) -> None:
        """Every door of the board shut, asking the person if one stays open."""
        with self.make_driver() as driver:
            doors = self._read_doors(driver)
            unknown = sorted(lock for lock, door in doors.items() if door is DoorState.UNKNOWN)
            if unknown:
                pytest.fail(
                    f"board {self.board!r} cannot sense the doors of locks {unknown}: the "
                    "contract needs a door sensor on every lock it tests",
                    pytrace=False,
                )
            started = time.monotonic()
            asked = False
            while still_open := sorted(lock for lock, d in doors.items() if d is DoorState.OPEN):
                waited = time.monotonic() - started
                if waited > self.door_timeout_s:
                    pytest.fail(f"locks {still_open} of board {self.board!r} still read OPEN")
                if not asked and waited > _GRACE_S:
                    self.ask(f"Shut the doors of locks {still_open} of board {self.board!r}.")
                    asked = True
                time.sleep(_POLL_S)
                doors = self._read_doors(driver)

    def _read_doors(self, driver: Driver) -> dict[int, DoorState]:
        deadline = time.monotonic() + _BACK_ONLINE_S
        while True:
            try:
                return {lock: reading.door for lock, reading in driver.read().items()}
            except DriverError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(_POLL_S * 5)


def _pick(specs: dict[str, BoardSpec], board: str | None, path: Path) -> BoardSpec:
    if board is None and len(specs) == 1:
        return next(iter(specs.values()))
    if board not in specs:
        known = ", ".join(specs)
        pytest.fail(f"--board: name one of the boards of {path} ({known})", pytrace=False)
    return specs[board]
