"""``locker-office serve`` as a real process, for tests and benchmarks.

:class:`OfficeProcess` writes an office config (the broker's loopback address, the
``office`` account's password, a signing key, a database URL), runs ``python -m office
serve`` with a client id of its own, and waits until its ``/health`` says it is
connected. Several may share one config: each gets its own client id and HTTP port.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.fleet.envelope import new_key, private_pem
from testkit.broker import Broker, free_port
from testkit.fleet import USERS

OFFICE_USER = "office"
OFFICE_PASSWORD = "office-secret-1"
BROKER_USERS = {**USERS, OFFICE_USER: OFFICE_PASSWORD}
KID = "ops-office"


def write_keys(folder: Path) -> tuple[Ed25519PrivateKey, Path, Path]:
    """A signing key (0600) and a kiosk keyring pinning it: ``(key, key file, keyring)``."""
    key, public = new_key()
    key_file = folder / "office.key"
    key_file.write_bytes(private_pem(key))
    key_file.chmod(0o600)
    keyring = folder / "fleet-keys.toml"
    keyring.write_text(f'[keys]\n{KID} = "{public}"\n')
    return key, key_file, keyring


def write_config(
    folder: Path, broker: Broker, database: str, key_file: Path | None, **ingest: Any
) -> Path:
    password = folder / "broker.password"
    password.write_text(OFFICE_PASSWORD + "\n")
    password.chmod(0o600)
    lines = [
        "[database]",
        f"url = {json.dumps(database)}",
        "[mqtt]",
        f'broker = "{broker.host}:{broker.port_for(OFFICE_USER)}"',
        "tls = false",
        f'username = "{OFFICE_USER}"',
        f'password_file = "{password}"',
    ]
    if key_file is not None:
        lines += ["[signing]", f'key = "{key_file}"', f'kid = "{KID}"']
    ingest = {"sweep_s": 0.3, "gap_grace_s": 1.0, "resend_retry_s": 2.0, **ingest}
    lines += ["[ingest]"] + [f"{k} = {v!r}" for k, v in ingest.items()]
    path = folder / "office.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


class OfficeProcess:
    def __init__(self, config: Path, client_id: str = "office-1") -> None:
        self.config = config
        self.client_id = client_id
        self.port = free_port()
        self.log_path = config.parent / f"{client_id}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def office(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "office", "--config", str(self.config), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def start(self, timeout_s: float = 30.0) -> OfficeProcess:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "office",
                "--config",
                str(self.config),
                "serve",
                "--client-id",
                self.client_id,
                "--listen",
                f"127.0.0.1:{self.port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(self.log_path, "ab"),  # noqa: SIM115
        )
        deadline = time.monotonic() + timeout_s
        while True:
            health = self.health()
            if health is not None and health["broker"]["connected"]:
                return self
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"locker-office serve did not come up:\n{self.log()}")
            time.sleep(0.1)

    def health(self) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=5) as r:
                return json.loads(r.read())  # type: ignore[no-any-return]
        except urllib.error.HTTPError as exc:
            return json.loads(exc.read())  # type: ignore[no-any-return]
        except OSError:
            return None

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM and wait; killed if it has not stopped within ``timeout_s``."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextmanager
def running_office(config: Path, client_id: str = "office-1") -> Iterator[OfficeProcess]:
    """A serve process until the end, stopped (or killed) whatever happens meanwhile."""
    office = OfficeProcess(config, client_id)
    try:
        yield office.start()
    finally:
        try:
            office.stop()
        finally:
            office.kill()
