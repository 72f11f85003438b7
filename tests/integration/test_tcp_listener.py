"""The API's TCP listener: off by default; on, it speaks only TLS and wants the token."""

from __future__ import annotations

import secrets
import shutil
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kiosk.api.listeners.tcp_gate import LOCAL_ONLY
from kiosk.protocol.client import parse_sse
from testkit.daemon import TECHNICIAN, Daemon
from testkit.listeners import free_port, make_certificate, tcp_daemon
from testkit.scanner import Message, StreamReader, is_event, is_scan, pty_scanner


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def listening(tls: tuple[Path, Path], tmp_path: Path) -> Iterator[tuple[Daemon, str, str, Path]]:
    with tcp_daemon(tls, tmp_path) as running:
        yield running


def test_the_tcp_listener_is_off_unless_configured(daemon: Daemon) -> None:
    assert "tcp_listen" not in daemon.config_path.read_text()
    assert "API also on TCP" not in daemon.log_path.read_text()


def test_a_client_with_the_token_reaches_the_api_over_tls(
    listening: tuple[Daemon, str, str, Path],
) -> None:
    daemon, url, token, cert = listening
    with httpx.Client(verify=ssl.create_default_context(cafile=str(cert))) as client:
        status = client.get(f"{url}/v1/status", headers={"X-Kiosk-Token": token})
        assert status.status_code == 200
        assert status.json()["kiosk"]["id"] == "TEST-01"
        for headers in ({}, {"X-Kiosk-Token": "0" * 64}):
            refused = client.get(f"{url}/v1/status", headers=headers)
            assert refused.status_code == 401
            assert refused.json()["error"] == "this listener needs the kiosk's API token"
            assert token not in refused.text
    with pytest.raises(httpx.HTTPError):  # no plain HTTP on the TLS port
        httpx.get(url.replace("https", "http") + "/v1/status", timeout=5)
    assert "no token from 127.0.0.1 refused" in daemon.log_path.read_text()


def test_a_burst_past_the_rate_is_answered_429_with_a_wait(
    listening: tuple[Daemon, str, str, Path],
) -> None:
    _, url, token, cert = listening
    with httpx.Client(verify=ssl.create_default_context(cafile=str(cert))) as client:
        codes = [client.get(f"{url}/v1/kiosk", headers={"X-Kiosk-Token": token}).status_code
                 for _ in range(12)]  # fmt: skip
        assert codes[:6] == [200] * 6  # a burst of a tenth of the minute's 60
        assert 429 in codes[6:]
        late = client.get(f"{url}/v1/kiosk", headers={"X-Kiosk-Token": token})
        assert late.status_code == 429 and int(late.headers["Retry-After"]) >= 1


def test_a_token_file_others_may_read_stops_the_start(
    tls: tuple[Path, Path], tmp_path: Path
) -> None:
    cert, key = tls
    token_file = tmp_path / "api.token"
    token_file.write_text(secrets.token_hex(32))
    token_file.chmod(0o644)
    api = {"tcp_listen": f"127.0.0.1:{free_port()}", "tls_cert": str(cert),
           "tls_key": str(key), "token_file": str(token_file)}  # fmt: skip
    root = Path(tempfile.mkdtemp(prefix="lk-", dir="/tmp"))  # a socket path stays short
    try:
        daemon = Daemon(root, sections={"api": api})
        run = daemon.kiosk_cmd("run", "--config", str(daemon.config_path))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    assert run.returncode == 2  # a person must fix it: systemd does not restart
    assert f"the API token file {token_file} is accessible by group or others" in run.stderr
    assert f"chmod 600 {token_file}" in run.stderr


def test_opening_every_door_or_lifting_the_guard_is_refused_over_tcp(
    listening: tuple[Daemon, str, str, Path],
) -> None:
    daemon, url, token, cert = listening
    with httpx.Client(verify=ssl.create_default_context(cafile=str(cert))) as client:
        gate = {"X-Kiosk-Token": token}
        who = {"pin": TECHNICIAN[1], "user": TECHNICIAN[0]}
        answer = client.post(f"{url}/v1/sessions", json=who, headers=gate)
        assert answer.status_code == 200  # the technician signs in over TCP ...
        signed = {**gate, "Authorization": f"Bearer {answer.json()['token']}"}
        one = client.post(f"{url}/v1/compartments/A01/open", json={}, headers=signed)
        assert one.status_code in (200, 202), one.text  # ... and may open one door,
        # but not what opens many or lifts the guard (a burst of 6 is the rate's limit).
        for path in ("/v1/compartments/open-all", "/v1/selftest", "/v1/discover",
                     "/v1/guard/reset"):  # fmt: skip
            refused = client.post(f"{url}{path}", json={}, headers=signed)
            assert refused.status_code == 403, path
            assert refused.json()["error"] == "this can only be done at the kiosk itself"
    assert LOCAL_ONLY.fullmatch("/v1/boards/bank/scan-bus")  # it pulses no lock but holds the bus
    assert LOCAL_ONLY.fullmatch("/v1/bus-scan") and LOCAL_ONLY.fullmatch("/v1/boards/top/trace")
    log = daemon.log()
    assert "/v1/compartments/open-all from 127.0.0.1 refused: only at the kiosk" in log
    assert not daemon.events("open_all")


def tcp_stream(client: httpx.Client, url: str, token: str) -> Iterator[Message]:
    with client.stream("GET", f"{url}/v1/stream?after=0", headers={"X-Kiosk-Token": token},
                       timeout=httpx.Timeout(10, read=None)) as answer:  # fmt: skip
        assert answer.status_code == 200
        yield from parse_sse(answer.iter_lines())


def test_a_scanned_pickup_code_reaches_the_touchscreen_and_no_reader_over_tcp(
    tls: tuple[Path, Path], tmp_path: Path
) -> None:
    with pty_scanner() as scanner, tcp_daemon(tls, tmp_path, **scanner.section) as running:
        daemon, url, token, cert = running
        with httpx.Client(verify=ssl.create_default_context(cafile=str(cert))) as client:
            gate = {"X-Kiosk-Token": token}
            refused = client.get(f"{url}/v1/touchscreen/stream", headers=gate)
            assert refused.status_code == 403
            assert refused.json()["error"] == "this can only be done at the kiosk itself"
            remote = StreamReader(tcp_stream(client, url, token))
            touchscreen = StreamReader(
                daemon.touchscreen().stream("/v1/touchscreen/stream?after=0")
            )
            for stream in (remote, touchscreen):  # after=0: the log first, so subscribed
                stream.wait_for(is_event("kiosk_started"), what="the stream to connect")
            daemon.wait_for(lambda: "reading the serial scanner" in daemon.log(), what="scanner")
            scanner.scan("73019482")
            assert touchscreen.wait_for(is_scan, what="the scan")["text"] == "73019482"
            daemon.signed_in()  # published after the scan
            remote.wait_for(is_event("signed_in"), what="the sign-in after the scan")
        assert not [m for m in remote.messages if is_scan(m) or "73019482" in str(m)]
        log = daemon.log()
        assert "/v1/touchscreen/stream from 127.0.0.1 refused: only at the kiosk" in log
        assert "73019482" not in log
