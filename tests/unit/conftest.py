"""Fixtures that several unit test modules share: the config tests' drivers, the scripted
daemon behind ``lockerctl``, and emulated Kerong boards with drivers on their bus.

Each name says what it is: ``scripted_daemon`` answers from a script (the real daemon is
the ``daemon`` of the integration, UI and fault tests), ``technician_pin`` is who signs in
to ``lockerctl``, and the ``kerong_`` fixtures serve the Kerong driver's tests.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import drivers.base
from drivers.kerong import KerongDriver
from hw_sim.kerong_emu import KerongBusEmulator
from hw_sim.model import Bank
from kiosk import clock
from kiosk import lockerctl as ctl
from kiosk.lockerctl import io as ctl_io
from kiosk.protocol.client import ApiClient
from tests.unit import config_files
from tests.unit.kerong_bench import BOARDS, LOCKS, MakeDriver, build, compartment, start_emulator
from tests.unit.scripted_daemon import ScriptedDaemon

# -- the config file (tests/unit/test_config*.py) --------------------------------------


@pytest.fixture
def fake_drivers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The drivers of :mod:`tests.unit.config_files` in the registry, and ``broken``, which
    cannot be imported."""
    registry = drivers.base._REGISTRY
    module = config_files.__name__
    monkeypatch.setitem(registry, "fake", f"{module}:FakeDriver")
    monkeypatch.setitem(registry, "pinned", f"{module}:PinnedDriver")
    monkeypatch.setitem(registry, "broken", "no_such_module_for_tests:Driver")
    if importlib.util.find_spec("drivers.sim") is None:
        monkeypatch.setitem(registry, "sim", f"{module}:FakeSimDriver")


# -- the boot (tests/unit/test_fleet_window.py, test_pickup_lockout.py) ----------------

UNITS_BOOT = "5b990ac341104c76a5e9bb113193149e"


@pytest.fixture
def under_the_unit(monkeypatch: pytest.MonkeyPatch) -> str:
    """This process as the daemon's unit runs it: ``ProcSubset=pid`` hides the kernel's
    boot id from whatever reads it, and the unit passes it in ``LOCKER_BOOT_ID``
    (``%b``). The boot's id."""
    hidden = Path("/proc/sys/kernel/random/boot_id")
    opens = Path.open

    def without_the_kernels_boot_id(path: Path, *args: Any, **kwargs: Any) -> Any:
        if Path(path) == hidden:
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return opens(path, *args, **kwargs)

    monkeypatch.setattr(Path, "open", without_the_kernels_boot_id)
    monkeypatch.setenv(clock.BOOT_ID_ENV, UNITS_BOOT)
    return UNITS_BOOT


# -- lockerctl (tests/unit/test_ctl*.py) ------------------------------------------------


@pytest.fixture
def scripted_daemon(monkeypatch: pytest.MonkeyPatch) -> ScriptedDaemon:
    fake = ScriptedDaemon()
    fake.on("POST", "/v1/sessions", (200, {"token": "tok-1", "user": "ann", "role": "technician"}))
    fake.on("DELETE", "/v1/sessions", (200, {"ok": True}))

    def make_client(socket: str) -> ApiClient:
        fake.sockets.append(socket)
        return ApiClient(socket, transport=httpx.MockTransport(fake))

    monkeypatch.setattr(ctl, "make_client", make_client)
    monkeypatch.setattr(ctl_io, "is_terminal", lambda: False)
    for name in ("LOCKER_PIN", "LOCKER_USER", "LOCKER_SOCKET"):
        monkeypatch.delenv(name, raising=False)
    return fake


@pytest.fixture
def technician_pin(monkeypatch: pytest.MonkeyPatch) -> str:
    """Ann's PIN in ``LOCKER_PIN``, and her name in ``LOCKER_USER``: who signs in."""
    monkeypatch.setenv("LOCKER_USER", "ann")
    monkeypatch.setenv("LOCKER_PIN", "48291375")
    return "48291375"


# -- the Kerong driver (tests/unit/test_kerong_*.py) ------------------------------------


@pytest.fixture
def kerong_bank() -> Bank:
    made = Bank(person="manual")
    for board in BOARDS.values():
        for lock in LOCKS:
            made.add_compartment(compartment(board, lock), board, lock)
    return made


@pytest.fixture
def kerong_emulator(kerong_bank: Bank, tmp_path: Path) -> Iterator[KerongBusEmulator]:
    made = start_emulator(kerong_bank, tmp_path)
    yield made
    made.close()


@pytest.fixture
def make_kerong_driver(kerong_emulator: KerongBusEmulator) -> Iterator[MakeDriver]:
    """Open drivers on the emulator's bus; every one is closed after the test."""
    made: list[KerongDriver] = []

    def make(board: str = "top", **options: Any) -> KerongDriver:
        driver = build(board, port=kerong_emulator.device, **options)
        made.append(driver)
        driver.open()
        return driver

    yield make
    for driver in made:
        driver.close()
