"""What the daemon leaves on the kiosk for others to see: the lines it writes to the
journal for each event, and its sockets' mode from the moment they exist."""

from __future__ import annotations

import logging
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.api.listeners.server import bind_socket
from kiosk.barcode import GS
from kiosk.daemon import log_event
from kiosk.store import Event


def test_a_gs1_barcode_is_journaled_with_its_separator_shown_not_as_a_raw_byte(
    caplog: pytest.LogCaptureFixture,
) -> None:
    barcode = "0109501101020917" + GS + "10ABCD"
    event = Event(7, 0.0, "parcel_stored", "info", "carla", "A03",
                  {"barcode": barcode, "size": "M"})  # fmt: skip
    with caplog.at_level(logging.INFO, logger="kiosk.event"):
        log_event(event)
    line = caplog.messages[-1]
    assert (
        line
        == "parcel_stored compartment=A03 actor=carla barcode=0109501101020917<GS>10ABCD size=M"
    )
    assert GS not in line


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The widest umask a service could be started with."""
    before = os.umask(0)
    try:
        yield
    finally:
        os.umask(before)


def test_the_api_socket_is_never_wider_than_0660_not_even_right_after_bind(
    open_umask: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "api.sock"
    seen: list[int] = []

    class Watched(socket.socket):
        def bind(self, address: object) -> None:
            super().bind(address)
            seen.append(stat.S_IMODE(os.stat(path).st_mode))  # before anything else runs

    monkeypatch.setattr(socket, "socket", Watched)
    sock = bind_socket(path)
    try:
        assert seen == [0o660]
        assert stat.S_IMODE(path.stat().st_mode) == 0o660
        assert os.umask(0) == 0  # the daemon's own umask is given back
    finally:
        sock.close()
