"""A real Mosquitto on loopback for the tests, run from the config the project ships.

The broker runs from Debian's ``mosquitto`` package (``tools/test-deps.sh`` installs
it) with ``config/broker/mosquitto.conf`` as shipped, line by line, except for what
belongs to the machine: its two listeners (the kiosks' and the operator's) on free
ports of 127.0.0.1, the password files (made with ``mosquitto_passwd``: operators in
the operator listener's, everyone else in the kiosks'), the ACL file
(``config/broker/locker-kiosk.acl``, unchanged), the persistence folder, and the TLS
files, left out (plain listeners) unless a test adds its own with ``extra_conf``.
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

SHIPPED = Path(__file__).resolve().parents[1] / "config" / "broker"
ACL = SHIPPED / "locker-kiosk.acl"
CONF = SHIPPED / "mosquitto.conf"
KIOSK_LISTENER, OPERATOR_LISTENER = "8883", "8884"
OPERATORS = frozenset({"operator", "office"})
"""The accounts of the operator's listener (locker-fleet's and the back office's); every
other user is a kiosk."""
_TLS = {"certfile", "keyfile", "cafile", "capath", "tls_version", "require_certificate",
        "use_identity_as_username"}  # fmt: skip


@dataclass
class Broker:
    host: str
    port: int
    """The kiosks' listener."""
    proc: subprocess.Popen[bytes]
    log: Path
    command: tuple[str, ...] = ()
    operator_port: int = 0
    """The operator's listener."""

    def port_for(self, user: str) -> int:
        """The listener where ``user`` logs in."""
        return self.operator_port if user in OPERATORS else self.port

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
    """Mosquitto with ``users`` ({name: password}) and the shipped config, until the end.

    ``persistence``: sessions and queued messages survive :meth:`Broker.stop` and
    :meth:`Broker.start_again`, as on a production broker. ``extra_conf``: more lines
    for each listener (TLS: ``cafile``, ``certfile``, ...; ``max_connections -1``);
    ``verbose``: log every packet (``-v``).
    """
    program = mosquitto()
    folder.mkdir(parents=True, exist_ok=True)
    kiosks, operators = folder / "kiosks.passwd", folder / "operators.passwd"
    write_password_file(kiosks, {u: p for u, p in users.items() if u not in OPERATORS})
    write_password_file(operators, {u: p for u, p in users.items() if u in OPERATORS})
    ports = {KIOSK_LISTENER: free_port(), OPERATOR_LISTENER: free_port()}
    passwords = {KIOSK_LISTENER: kiosks, OPERATOR_LISTENER: operators}
    conf = folder / "mosquitto.conf"
    conf.write_text(shipped_conf(folder, ports, passwords, persistence, extra_conf))
    log = folder / "mosquitto.log"
    command = (program, "-c", str(conf)) + (("-v",) if verbose else ())
    broker = Broker("127.0.0.1", ports[KIOSK_LISTENER], _spawn(command, log), log, command,
                    ports[OPERATOR_LISTENER])  # fmt: skip
    try:
        _wait_until_listening(broker)
        yield broker
    finally:
        broker.stop()


def shipped_conf(
    folder: Path,
    ports: Mapping[str, int],
    passwords: Mapping[str, Path],
    persistence: bool,
    extra_conf: str,
) -> str:
    """``config/broker/mosquitto.conf`` with this machine's ports, files and folder."""
    # Started as root it would drop to user "mosquitto", who cannot read our files.
    out = [f"user {getpass.getuser()}"]
    listener = None
    for line in CONF.read_text().splitlines():
        key, _, value = line.partition(" ")
        if not line or line.startswith("#") or key in _TLS:
            continue
        if key == "listener":
            if listener is not None:
                out.append(extra_conf)
            listener = value.strip()
            line = f"listener {ports[listener]} 127.0.0.1"
        elif key == "password_file":
            line = f"password_file {passwords[str(listener)]}"
        elif key == "acl_file":
            line = f"acl_file {ACL}"
        elif key == "persistence":
            line = f"persistence {'true' if persistence else 'false'}"
        elif key == "persistence_location":
            line = f"persistence_location {folder}/"
        out.append(line)
    out.append(extra_conf)
    return "\n".join(out) + "\n"


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
            for port in (broker.port, broker.operator_port):
                socket.create_connection((broker.host, port), timeout=0.2).close()
            return
        except OSError:
            if broker.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto did not start: {broker.log.read_text()}") from None
            time.sleep(0.05)
