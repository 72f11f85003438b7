"""systemd notifications over a real AF_UNIX datagram socket."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.daemon import sdnotify


@pytest.fixture
def systemd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A socket standing in for systemd's, named in $NOTIFY_SOCKET."""
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(2)
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        yield sock


def test_ready_and_watchdog_reach_systemd(systemd: socket.socket) -> None:
    assert sdnotify.ready()
    assert sdnotify.watchdog()

    assert systemd.recv(1024) == b"READY=1"
    assert systemd.recv(1024) == b"WATCHDOG=1"


def test_status_cannot_smuggle_a_second_assignment(systemd: socket.socket) -> None:
    assert sdnotify.status("3 parcels stored\nREADY=1")

    assert systemd.recv(1024) == b"STATUS=3 parcels stored READY=1"


def test_stopping_is_sent(systemd: socket.socket) -> None:
    assert sdnotify.stopping()

    assert systemd.recv(1024) == b"STOPPING=1"


def test_abstract_socket_is_supported(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"locker-kiosk-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)

        assert sdnotify.ready()
        assert sock.recv(1024) == b"READY=1"


def test_outside_systemd_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)

    assert sdnotify.ready() is False


def test_a_vanished_socket_is_reported_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone.sock"))

    assert sdnotify.watchdog() is False


@pytest.mark.parametrize(
    ("usec", "pid", "expected"),
    [
        ("20000000", None, 10.0),
        ("20000000", "self", 10.0),
        ("500000", None, 0.25),
        ("20000000", "other", None),
        ("0", None, None),
        ("-5", None, None),
        ("soon", None, None),
        (None, None, None),
    ],
)
def test_watchdog_interval_is_half_of_what_systemd_asks(
    monkeypatch: pytest.MonkeyPatch, usec: str | None, pid: str | None, expected: float | None
) -> None:
    for name, value in (("WATCHDOG_USEC", usec), ("WATCHDOG_PID", pid)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            own = {"self": str(os.getpid()), "other": str(os.getpid() + 1)}
            monkeypatch.setenv(name, own.get(value, value))

    assert sdnotify.watchdog_interval() == expected
