"""A real PostgreSQL from Debian's packages, in a temporary directory, for tests and benches.

PostgreSQL refuses to run as root, so the cluster belongs to an unprivileged user
(``postgres`` where the package made it, else ``nobody``): ``initdb`` and ``pg_ctl``
run as that user through ``setpriv``. The server listens only on a Unix socket in the
cluster's directory (no TCP at all), with ``trust`` for local connections: nothing
outside this machine can reach it, and the tests connect as the role ``office``.
``tools/test-deps.sh`` installs the package.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROLE = "office"


def binaries() -> Path | None:
    """The newest /usr/lib/postgresql/N/bin that has initdb, or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4])
    )
    return Path(found[-1]).parent if found else None


def _user() -> pwd.struct_passwd:
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("no unprivileged user (postgres or nobody) to run PostgreSQL as")


@dataclass
class Postgres:
    bin: Path
    folder: Path
    user: pwd.struct_passwd
    port: int = 5432
    settings: tuple[str, ...] = ()

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def socket_dir(self) -> Path:
        return self.folder

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{ROLE}@/{database}?host={self.socket_dir}&port={self.port}"

    def _as_user(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [
            "setpriv",
            f"--reuid={self.user.pw_uid}",
            f"--regid={self.user.pw_gid}",
            "--clear-groups",
            *args,
        ]
        return subprocess.run(
            command, capture_output=True, text=True, check=check, cwd=self.folder, timeout=120
        )

    def init(self) -> None:
        self._as_user(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            ROLE,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )

    def start(self) -> None:
        options = " ".join(
            [
                f"-k {self.socket_dir}",
                "-c listen_addresses=''",
                f"-p {self.port}",
                *(f"-c {s}" for s in self.settings),
            ]
        )
        done = self._as_user(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
            check=False,
        )
        if done.returncode != 0:
            log = (self.folder / "server.log").read_text(errors="replace")
            raise RuntimeError(f"PostgreSQL did not start: {done.stderr}\n{log}")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: disconnect everyone, a clean shutdown)."""
        self._as_user(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False
        )

    def is_running(self) -> bool:
        done = self._as_user(str(self.bin / "pg_ctl"), "-D", str(self.data), "status", check=False)
        return done.returncode == 0

    def psql(self, sql: str, database: str = "postgres") -> str:
        done = self._as_user(
            str(self.bin / "psql"),
            "-h",
            str(self.socket_dir),
            "-p",
            str(self.port),
            "-U",
            ROLE,
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-Atc",
            sql,
        )
        return done.stdout

    def create_database(self, name: str, template: str = "template1") -> str:
        self.psql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def running_postgres(settings: tuple[str, ...] = ()) -> Iterator[Postgres]:
    """A cluster of its own, started, until the end; then stopped and removed."""
    where = binaries()
    if where is None:
        raise FileNotFoundError("PostgreSQL is not installed (apt-get install postgresql)")
    user = _user()
    # Short: the socket's path must stay under 108 bytes.
    folder = Path(tempfile.mkdtemp(prefix="lk-pg-", dir="/tmp"))
    os.chown(folder, user.pw_uid, user.pw_gid)
    server = Postgres(where, folder, user, settings=settings)
    try:
        server.init()
        server.start()
        _wait_until_ready(server)
        yield server
    finally:
        server.stop("immediate" if server.is_running() else "fast")
        shutil.rmtree(folder, ignore_errors=True)


def _wait_until_ready(server: Postgres) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            server.psql("SELECT 1")
            return
        except subprocess.CalledProcessError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
