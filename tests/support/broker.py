"""A real Mosquitto on loopback for the tests, with the ACL file the project ships.

The broker runs from Debian's ``mosquitto`` package (``tools/test-deps.sh`` installs
it) with a generated config: one plain listener on 127.0.0.1 at a free port, no
anonymous access, a password file made with ``mosquitto_passwd``, and
``config/broker/locker-kiosk.acl`` unchanged. (The shipped ``mosquitto.conf`` adds TLS;
the ACL is what these tests are about.)
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ACL = Path(__file__).resolve().parents[2] / "config" / "broker" / "locker-kiosk.acl"


@dataclass
class Broker:
    host: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    command: tuple[str, ...] = ()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def start_again(self) -> None:
        """After :meth:`stop`: the same broker (config, port, saved sessions) once more."""
        self.proc = _spawn(self.command, self.log)
        _wait_until_listening(self)


def mosquitto() -> str:
    found = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path(
        "/usr/sbin/mosquitto").exists() else None)  # fmt: skip
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("mosquitto is missing: run-tests installs Debian's mosquitto")
        pytest.skip("mosquitto is not installed")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_broker(
    folder: Path,
    users: Mapping[str, str],
    persistence: bool = False,
    extra_conf: str = "",
    verbose: bool = True,
) -> Iterator[Broker]:
    """Mosquitto with ``users`` ({name: password}) and the shipped ACL, until the end.

    ``persistence``: sessions and queued messages survive :meth:`Broker.stop` and
    :meth:`Broker.start_again`, as on a production broker. ``extra_conf``: more lines
    of mosquitto.conf, after the listener's (TLS: ``cafile``, ``certfile``, ...;
    ``max_connections -1``); ``verbose``: log every packet (``-v``).
    """
    program = mosquitto()
    folder.mkdir(parents=True, exist_ok=True)
    passwd = folder / "passwd"
    write_password_file(passwd, users)
    port = free_port()
    conf = folder / "mosquitto.conf"
    store = f"persistence true\npersistence_location {folder}/\n" if persistence else ""
    conf.write_text(
        "per_listener_settings false\n"
        "allow_anonymous false\n"
        "set_tcp_nodelay true\n"
        f"password_file {passwd}\n"
        f"acl_file {ACL}\n"
        f"{store or 'persistence false'}\n"
        # Started as root it would drop to user "mosquitto", who cannot read our files.
        f"user {getpass.getuser()}\n"
        f"listener {port} 127.0.0.1\n"
        f"{extra_conf}"
    )
    log = folder / "mosquitto.log"
    command = (program, "-c", str(conf)) + (("-v",) if verbose else ())
    broker = Broker("127.0.0.1", port, _spawn(command, log), log, command)
    try:
        _wait_until_listening(broker)
        yield broker
    finally:
        broker.stop()


def write_password_file(path: Path, users: Mapping[str, str]) -> None:
    """A mosquitto password file: written in plain text, then hashed in place at once.

    ``mosquitto_passwd -U`` hashes every line in one run (about 0.2 s for 1,000 users,
    where one ``mosquitto_passwd -b`` per user takes seconds).
    """
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.writelines(f"{name}:{password}\n" for name, password in users.items())
    subprocess.run(["mosquitto_passwd", "-U", str(path)], check=True, capture_output=True)


def _spawn(command: tuple[str, ...], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)


def _wait_until_listening(broker: Broker) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection((broker.host, broker.port), timeout=0.2).close()
            return
        except OSError:
            if broker.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto did not start: {broker.log.read_text()}") from None
            time.sleep(0.05)
