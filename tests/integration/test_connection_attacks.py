"""People who push on the daemon's listeners, on a real daemon: crowds of idle
connections on the API socket and on the TCP listener, slowloris (headers or a body
trickled), a flood of headers, a forged X-Forwarded-For, a TLS handshake that never
completes. Each time the touchscreen keeps its way in, a pickup still opens its door,
the daemon holds no more descriptors than its caps allow, and the log says what
happened in a line and a count, not a traceback per connection."""

from __future__ import annotations

import json
import re
import resource
import shutil
import ssl
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kiosk.api.listeners.server import BACKLOG
from kiosk.protocol.client import ApiClient, ApiError
from testkit.api import store_parcel
from testkit.daemon import Daemon, running_daemon
from testkit.listeners import (
    close_all,
    idle_tcp,
    idle_unix,
    loopback,
    make_certificate,
    open_fds,
    port_of,
    raise_fd_limit,
    raw_tls,
    raw_unix,
    read_answer,
    tcp_daemon,
    trickle,
)

CROWD = 1100
# Short enough for a test to see them act, within the config's ranges.
QUICK = {"request_timeout_s": 1.5, "idle_timeout_s": 1, "tls_handshake_timeout_s": 1}


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(autouse=True)
def room_for_crowds() -> None:
    # 1,100 connections on each listener are this process's descriptors too.
    raise_fd_limit(2 * CROWD + 512)


@pytest.fixture(scope="module")
def quick(
    tls: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Daemon, str, str, Path]]:
    """One daemon with short time-outs, its TCP listener on, for the slow clients."""
    with tcp_daemon(tls, tmp_path_factory.mktemp("quick"), api=QUICK) as running:
        yield running


def pickup_through_the_touchscreen(daemon: Daemon, cid: str, code: str) -> None:
    """A customer at the screen types the code: the door of ``cid`` fires, no other."""
    fired_before = daemon.sim().fire_counts()
    with daemon.touchscreen() as screen:
        view = screen.post("/v1/pickup", {"code": code})
        assert view["compartment"] == cid
        fired = daemon.sim().fire_counts()
        assert {c for c in fired if fired[c] != fired_before[c]} == {cid}
        assert screen.wait_operation(view["operation"])["status"] == "CLOSED"


def repeats(log: str, line: str) -> int:
    """The count a log gives of the repeats of ``line`` (``repeated 1,035 more times``)."""
    (count,) = re.findall(r"repeated ([\d,]+) more times in \d+ s: " + re.escape(line), log)
    return int(count.replace(",", ""))


def refused(screen: ApiClient, listener: str) -> int:
    """The connections ``listener`` refused at its cap, as the status shows them."""
    return int(screen.get("/v1/status")["connections"][listener]["refused"])


def stopped_log(daemon: Daemon) -> str:
    """The daemon's log once it stopped: the counts still held back are written out."""
    assert daemon.stop() == 0
    return daemon.log()


def answer_of(raw: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_a_thousand_idle_connections_on_the_api_socket_leave_the_touchscreen_and_a_pickup_working(
) -> None:  # fmt: skip
    with running_daemon() as daemon:
        cid, code = store_parcel(daemon, "PKG-IDLE-FLOOD")
        crowd = idle_unix(daemon.socket, CROWD)
        try:
            with daemon.touchscreen() as screen:
                status = screen.get("/v1/status")
                assert status["kiosk"]["id"] == "TEST-01"
                assert status["connections"]["socket"]["connections"] == 64
                # The last of the crowd wait in the kernel's queue to be refused, a few
                # at a time, so that their storm never holds the daemon's loop.
                daemon.wait_for(lambda: refused(screen, "socket") >= CROWD - 64, what="refusals")
            pickup_through_the_touchscreen(daemon, cid, code)
            busy = daemon.ctl("status")  # a technician's lockerctl is told, not left hanging
            assert busy.returncode != 0
            assert "the kiosk's API socket is busy: all 64 connections are in use" in busy.stderr
            assert open_fds(daemon.proc.pid) < 64 + 8 + 8 + 8 + 128  # its caps, not the crowd
        finally:
            close_all(crowd)
        log = stopped_log(daemon)
    line = "API socket: refused a connection: all 64 connections are in use"
    assert log.count(line) == 2  # the first, and the count of the rest:
    assert repeats(log, line) == CROWD - 64  # the crowd's 1,036 and lockerctl's, but the first
    assert "Traceback" not in log
    assert len(log) < 20_000


def test_idle_connections_are_closed_after_the_request_time_out_and_free_their_places(
    quick: tuple[Daemon, str, str, Path],
) -> None:
    daemon, *_ = quick
    crowd = idle_unix(daemon.socket, 64)
    try:
        assert all(read_answer(sock) == b"" for sock in crowd)  # closed without a word
        with daemon.client() as lockerctl:
            assert lockerctl.get("/v1/status")["connections"]["socket"]["refused"] == 0
    finally:
        close_all(crowd)
    assert "API socket: closed a connection that sent no request within 1.5 s" in daemon.log()


@pytest.mark.parametrize("listener", ["socket", "tcp"])
@pytest.mark.parametrize("trickled", ["headers", "body"])
def test_slowloris_trickling_headers_or_a_body_is_cut_off_with_408(
    quick: tuple[Daemon, str, str, Path], listener: str, trickled: str
) -> None:
    daemon, url, token, cert = quick
    if trickled == "headers":
        start = b"GET /v1/status HTTP/1.1\r\nHost: kiosk\r\n"
        pieces = [b"X-Slow-%d: 1\r\n" % n for n in range(100)]
    else:
        body = b'{"code": "12345678"}'
        start = (b"POST /v1/pickup HTTP/1.1\r\nHost: kiosk\r\nX-Kiosk-Token: %s\r\n"
                 b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                 % (token.encode(), len(body)))  # fmt: skip
        pieces = [body[i : i + 1] for i in range(len(body))]
    sock = raw_unix(daemon.socket) if listener == "socket" else raw_tls(port_of(url), cert)
    with sock:
        sock.sendall(start)
        raw = trickle(sock, pieces, every_s=0.4)
    status, refusal = answer_of(raw)
    assert status == 408
    assert refusal == {"error": "the request did not arrive whole within 1.5 s",
                       "kind": "RequestTimeout"}  # fmt: skip
    label = "API socket" if listener == "socket" else "API over TCP"
    assert f"{label}: closed a connection that sent only part of a request within 1.5 s" in (
        daemon.log()
    )
    assert not daemon.events("wrong_code")  # the trickled code never reached the keypad
    assert "Traceback" not in daemon.log()


@pytest.mark.parametrize("listener", ["socket", "tcp"])
def test_a_flood_of_headers_is_refused_431_before_it_is_parsed(
    quick: tuple[Daemon, str, str, Path], listener: str
) -> None:
    daemon, url, _, cert = quick
    flood = b"".join(b"X-Flood-%d: %s\r\n" % (n, b"f" * 100) for n in range(1000))  # ~110 KB
    request = b"GET /v1/status HTTP/1.1\r\nHost: kiosk\r\n" + flood + b"\r\n"
    sock = raw_unix(daemon.socket) if listener == "socket" else raw_tls(port_of(url), cert)
    with sock:
        sock.sendall(request[:16384])  # the daemon answers and closes before the rest
        status, refusal = answer_of(read_answer(sock))
    assert (status, refusal) == (431, {"error": "the request's headers are larger than 8,192 "
                                       "bytes", "kind": "RequestRefused"})  # fmt: skip
    with daemon.client() as lockerctl:
        assert lockerctl.get("/v1/status")["kiosk"]["id"] == "TEST-01"
    assert "refused a request (431): the request's headers are larger" in daemon.log()


def test_a_forged_x_forwarded_for_does_not_buy_a_fresh_rate_allowance(
    quick: tuple[Daemon, str, str, Path],
) -> None:
    daemon, url, token, cert = quick
    me = loopback(600)  # an address of this test's own, so its bucket starts full
    context = ssl.create_default_context(cafile=str(cert))
    transport = httpx.HTTPTransport(verify=context, local_address=me)
    with httpx.Client(transport=transport, timeout=30) as laptop:
        codes = []
        for n in range(20):  # the burst is 6 (a tenth of 60 a minute)
            forged = {"X-Kiosk-Token": token, "X-Forwarded-For": f"10.66.{n}.{n}"}
            codes.append(laptop.get(f"{url}/v1/kiosk", headers=forged).status_code)
        forged = {"X-Kiosk-Token": "0" * 64, "X-Forwarded-For": "10.66.99.99"}
        wrong = laptop.get(f"{url}/v1/kiosk", headers=forged)
    assert codes[:6] == [200] * 6
    assert set(codes[6:]) == {429}
    assert wrong.status_code == 429  # the wrong token pays from the same bucket
    assert "10.66." not in daemon.log()


def test_a_tls_handshake_that_never_completes_is_dropped_and_frees_its_place(
    quick: tuple[Daemon, str, str, Path],
) -> None:
    daemon, url, token, cert = quick
    port, first = port_of(url), 700
    silent = idle_tcp(port, 4, first=first)  # one address: its 4 places before the token
    try:
        (fifth,) = idle_tcp(port, 1, first=first)
        assert read_answer(fifth) == b""  # refused at once: no place left for this address
        with raw_tls(port, cert, source=loopback(first + 1)) as other:  # another address
            other.sendall(b"GET /v1/kiosk HTTP/1.1\r\nHost: k\r\nX-Kiosk-Token: %s\r\n"
                          b"Connection: close\r\n\r\n" % token.encode())  # fmt: skip
            assert read_answer(other).startswith(b"HTTP/1.1 200 ")
        assert all(read_answer(sock) == b"" for sock in silent)  # the handshakes timed out
        with raw_tls(port, cert, source=loopback(first)) as back:  # its places are free again
            back.sendall(b"GET /v1/kiosk HTTP/1.1\r\nHost: k\r\nX-Kiosk-Token: %s\r\n"
                         b"Connection: close\r\n\r\n" % token.encode())  # fmt: skip
            assert read_answer(back).startswith(b"HTTP/1.1 200 ")
    finally:
        close_all(silent)
    log = daemon.log()
    assert f"API over TCP: refused a connection: 4 connections from {loopback(first)} have " \
        "not shown the token yet" in log  # fmt: skip
    assert "API over TCP: closed a connection whose TLS handshake did not finish within 1 s" in log


def test_a_laptops_open_event_streams_leave_its_places_for_connections_before_the_token(
    quick: tuple[Daemon, str, str, Path],
) -> None:
    daemon, url, token, cert = quick
    port, me = port_of(url), 800
    streams = []
    try:
        for _ in range(5):  # each shows the token at once: then it no longer counts as waiting
            stream = raw_tls(port, cert, source=loopback(me))
            streams.append(stream)
            stream.sendall(b"GET /v1/stream HTTP/1.1\r\nHost: k\r\nX-Kiosk-Token: %s\r\n\r\n"
                           % token.encode())  # fmt: skip
            assert stream.recv(65536).startswith(b"HTTP/1.1 200 ")
        waiting = idle_tcp(port, 4, first=me)  # all 4 places before the token are free
        (fifth,) = idle_tcp(port, 1, first=me)
        assert read_answer(fifth) == b""  # and a fifth waiting one is refused
        close_all(waiting)
    finally:
        for stream in streams:
            stream.close()
    assert f"4 connections from {loopback(me)} have not shown the token yet" in daemon.log()


def test_a_thousand_idle_tcp_connections_leave_the_touchscreen_and_a_pickup_working(
    tls: tuple[Path, Path], tmp_path: Path
) -> None:
    with tcp_daemon(tls, tmp_path) as (daemon, url, _, _):
        cid, code = store_parcel(daemon, "PKG-TCP-FLOOD")
        crowd = idle_tcp(port_of(url), CROWD, addresses=CROWD // 4)  # no token, no handshake
        try:
            with daemon.touchscreen() as screen:
                status = screen.get("/v1/status")
                assert status["connections"]["tcp"]["connections"] <= 32  # handshakes end
                # The kernel's queue (128) holds the last, or drops some when it overflows.
                daemon.wait_for(lambda: refused(screen, "tcp") >= CROWD - 32 - BACKLOG,
                                what="refusals")  # fmt: skip
            pickup_through_the_touchscreen(daemon, cid, code)
            with daemon.client() as lockerctl:  # the API socket is untouched by it
                assert lockerctl.get("/v1/kiosk")["id"] == "TEST-01"
            assert open_fds(daemon.proc.pid) < 64 + 8 + 8 + 8 + 32 + 8 + 128
        finally:
            close_all(crowd)
        log = stopped_log(daemon)
    line = "API over TCP: refused a connection: all 32 connections are in use"
    assert log.count(line) == 2
    assert repeats(log, line) >= CROWD - 32 - BACKLOG - 1
    assert "Traceback" not in log
    assert len(log) < 20_000


def test_a_connection_past_a_full_touchscreen_socket_is_told_the_kiosk_is_busy() -> None:
    with running_daemon() as daemon:
        crowd = idle_unix(daemon.touchscreen_socket, 8)
        try:
            with daemon.touchscreen() as screen, pytest.raises(ApiError) as busy:
                screen.get("/v1/status")
            assert busy.value.status == 503
            assert busy.value.message == (
                "the kiosk's touchscreen socket is busy: all 8 connections are in use; "
                "try again in a few seconds"
            )
        finally:
            close_all(crowd)


def test_a_file_limit_below_what_the_caps_need_stops_the_start_with_what_to_raise(
    tmp_path: Path,
) -> None:
    def low_limit() -> None:  # a unit without LimitNOFILE on a system that allows little
        resource.setrlimit(resource.RLIMIT_NOFILE, (200, 200))

    daemon = Daemon(Path(tempfile.mkdtemp(prefix="lk-", dir="/tmp")))
    try:
        run = subprocess.run(
            [sys.executable, "-m", "kiosk", "run", "--config", str(daemon.config_path)],
            capture_output=True, text=True, timeout=60, preexec_fn=low_limit,
        )  # fmt: skip
    finally:
        shutil.rmtree(daemon.root, ignore_errors=True)
    assert run.returncode == 2  # a person must fix it: systemd does not restart
    assert (
        "locker-kiosk: the daemon may open only 200 files, fewer than the 216 its API's "
        "connection caps and the rest of it need: 72 (API socket) + 16 (touchscreen socket) + "
        "128 (the rest of the daemon); raise LimitNOFILE in the unit, or lower the caps in [api]"
    ) in run.stderr
    assert not daemon.socket.exists()
