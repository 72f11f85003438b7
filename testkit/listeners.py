"""The daemon's listeners as an attacker and a maintenance laptop meet them: a TLS
certificate, a daemon with its TCP listener on, crowds of idle connections, raw bytes.

Shared by the connection tests and ``bench/connections.py``.
"""

from __future__ import annotations

import contextlib
import os
import resource
import secrets
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from testkit.daemon import Daemon, running_daemon


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (``openssl`` must be there)."""
    if shutil.which("openssl") is None:
        raise FileNotFoundError("openssl is needed to make a test certificate")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@contextmanager
def tcp_daemon(
    tls: tuple[Path, Path],
    folder: Path,
    api: dict[str, Any] | None = None,
    **sections: dict[str, Any],
) -> Iterator[tuple[Daemon, str, str, Path]]:
    """A daemon with its TCP listener on 127.0.0.1: ``(daemon, url, token, cert)``.
    ``api`` adds to (or replaces keys of) the ``[api]`` table; ``sections`` are more
    tables of the config."""
    cert, key = tls
    token = secrets.token_hex(32)
    token_file = folder / "api.token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    port = free_port()
    table = {"tcp_listen": f"127.0.0.1:{port}", "tls_cert": str(cert), "tls_key": str(key),
             "token_file": str(token_file), "rate_per_minute": 60, **(api or {})}  # fmt: skip
    with running_daemon(sections={"api": table, **sections}) as daemon:
        yield daemon, f"https://127.0.0.1:{port}", token, cert


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def raise_fd_limit(wanted: int) -> None:
    """This process may hold ``wanted`` descriptors (the crowds below are ours too)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            raise RuntimeError(f"this process may open only {hard} files, {wanted} are needed")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def open_fds(pid: int) -> int:
    """The descriptors process ``pid`` holds, as ``/proc`` shows them."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def idle_unix(path: Path, count: int) -> list[socket.socket]:
    """``count`` connections to a Unix socket that never send a byte."""
    crowd = []
    for _ in range(count):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(10)
        deadline = time.monotonic() + 10
        while True:
            try:
                sock.connect(str(path))
                break
            except BlockingIOError:  # the backlog is full: the daemon is busy turning away
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.001)
        crowd.append(sock)
    return crowd


def loopback(n: int) -> str:
    """The ``n``-th of many loopback addresses (Linux routes all of 127/8 to lo), so
    one test can be many clients."""
    return f"127.0.{1 + n // 250}.{1 + n % 250}"


def idle_tcp(port: int, count: int, addresses: int = 1, first: int = 0) -> list[socket.socket]:
    """``count`` TCP connections to 127.0.0.1:``port`` that never start TLS, spread over
    ``addresses`` source addresses (``loopback(first)`` on)."""
    crowd = []
    for i in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(10)
        sock.bind((loopback(first + i % addresses), 0))
        sock.connect(("127.0.0.1", port))
        crowd.append(sock)
    return crowd


def close_all(crowd: list[socket.socket]) -> None:
    for sock in crowd:
        sock.close()
    crowd.clear()


def raw_unix(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    sock.connect(str(path))
    return sock


def raw_tls(port: int, cert: Path, source: str = "127.0.0.1") -> ssl.SSLSocket:
    """A TLS connection from ``source`` to the listener, the handshake done."""
    context = ssl.create_default_context(cafile=str(cert))
    plain = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(source, 0))
    return context.wrap_socket(plain, server_hostname="127.0.0.1")


def read_answer(sock: socket.socket, timeout: float = 30.0) -> bytes:
    """Everything the daemon sends until it closes the connection."""
    sock.settimeout(timeout)
    answer = b""
    while True:
        try:
            piece = sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError):
            return answer
        if not piece:
            return answer
        answer += piece


def trickle(sock: socket.socket, pieces: list[bytes], every_s: float, most_s: float = 60.0
            ) -> bytes:  # fmt: skip
    """Send ``pieces`` one every ``every_s`` (then nothing) until the daemon answers or
    closes the connection; what it sent back (b"" for a close without a word)."""
    left = list(pieces)
    sock.settimeout(every_s)
    deadline = time.monotonic() + most_s
    while time.monotonic() < deadline:
        try:
            piece = sock.recv(65536)
        except TimeoutError:
            if left:
                with contextlib.suppress(OSError):
                    sock.sendall(left.pop(0))
            continue
        except (ConnectionResetError, ssl.SSLError):
            return b""
        return piece + read_answer(sock) if piece else b""
    raise AssertionError(f"the daemon neither answered nor closed within {most_s} s")
