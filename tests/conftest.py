"""Options of the whole test suite: the board on the bench for ``pytest -m hardware``.

Tests marked ``hardware`` drive a real lock control board (the contract suite's
``hardware`` rig, :mod:`tests.contract.rig_hardware`). They are skipped unless the
board is named::

    pytest -m hardware tests/contract --board-config bench.toml --board left

See ``docs/hardware.md`` ("The contract suite on a bench") for what they fire and what
the person at the bench is asked to do.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hardware", "a real board on the bench (tests marked hardware)")
    group.addoption(
        "--board-config",
        metavar="PATH",
        help="a kiosk config (TOML) describing the board on the bench",
    )
    group.addoption(
        "--board",
        metavar="NAME",
        help="the name of the board to test, from the config's [[boards]] "
        "(may be left out when the config has one board)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--board-config"):
        return
    skip = pytest.mark.skip(reason="needs a board on the bench: --board-config PATH --board NAME")
    for item in items:
        if "hardware" in item.keywords:
            item.add_marker(skip)
