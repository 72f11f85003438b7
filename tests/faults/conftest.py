"""Shared steps of the fault tests: a daemon per test and the journeys they build on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from testkit.daemon import Daemon, running_daemon


@pytest.fixture
def daemon() -> Iterator[Daemon]:
    with running_daemon() as d:
        yield d


def store_parcel(daemon: Daemon, barcode: str, size: str = "S") -> dict[str, Any]:
    """A courier deposits ``barcode``; returns the final view once the door closed."""
    courier = daemon.signed_in()
    view = courier.post("/v1/deposits", {"barcode": barcode, "size": size,
                                         "phone": "+4915112345678"})  # fmt: skip
    final = courier.wait_operation(view["operation"], until_done=True)
    assert final["status"] == "CLOSED", final
    return final


def parcel(daemon: Daemon, barcode: str) -> dict[str, Any]:
    found = [p for p in daemon.client().get("/v1/parcels")["parcels"] if p["barcode"] == barcode]
    assert len(found) == 1, found
    return found[0]


def compartments(daemon: Daemon) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in daemon.client().get("/v1/compartments")["compartments"]}


def fire_log(daemon: Daemon) -> list[str]:
    """The compartments whose lock fired, in order, from the sim's fire log."""
    path = daemon.data_dir / "sim-fires.log"
    if not path.exists():
        return []
    return [line.split()[3] for line in path.read_text().splitlines() if line.strip()]


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["kind"] for e in events]
