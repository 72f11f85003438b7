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

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


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
def running_broker(folder: Path, users: Mapping[str, str]) -> Iterator[Broker]:
    """Mosquitto with ``users`` ({name: password}) and the shipped ACL, until the end."""
    program = mosquitto()
    folder.mkdir(parents=True, exist_ok=True)
    passwd = folder / "passwd"
    passwd.touch(mode=0o600)
    for name, password in users.items():
        subprocess.run(["mosquitto_passwd", "-b", str(passwd), name, password],
                       check=True, capture_output=True)  # fmt: skip
    port = free_port()
    conf = folder / "mosquitto.conf"
    conf.write_text(
        "per_listener_settings false\n"
        "allow_anonymous false\n"
        f"password_file {passwd}\n"
        f"acl_file {ACL}\n"
        "persistence false\n"
        # Started as root it would drop to user "mosquitto", who cannot read our files.
        f"user {getpass.getuser()}\n"
        f"listener {port} 127.0.0.1\n"
    )
    log = folder / "mosquitto.log"
    proc = subprocess.Popen([program, "-c", str(conf), "-v"], stdout=open(log, "ab"),  # noqa: SIM115
                            stderr=subprocess.STDOUT)  # fmt: skip
    broker = Broker("127.0.0.1", port, proc, log)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"mosquitto did not start: {log.read_text()}") from None
                time.sleep(0.05)
        yield broker
    finally:
        broker.stop()
