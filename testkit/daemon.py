"""A real daemon in a subprocess, on a throwaway data dir, for integration tests.

The daemon runs the sim driver with fast timings; tests talk to it over its real Unix
socket (:class:`kiosk.protocol.client.ApiClient`), run the real ``lockerctl``, and reach into
the simulated bank through its control socket (:class:`hw_sim.control.SimControl`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hw_sim.control import SimControl
from kiosk.protocol.client import ApiClient
from testkit.wallclock import SteppedWallClock

COURIER = ("carla", "246813")
COURIER2 = ("conrad", "864213")
TECHNICIAN = ("tomas", "13572468")
DEFAULT_USERS = ((COURIER, "courier"), (COURIER2, "courier"), (TECHNICIAN, "technician"))
"""``((name, pin), role)`` of the people every test daemon knows unless told otherwise."""

SIZES = ["S", "S", "S", "M", "M", "M", "L", "L", "XL", "S", "M", "L"]  # A01..A12
ACCESSIBLE = {"A10", "A11"}

FAST = {
    "doors": {
        "open_timeout_s": 1.0,
        "open_retries": 1,
        "remind_after_s": 1.0,
        "left_open_after_s": 2.0,
        "debounce_ms": 20,
        "debounce_polls": 2,
        "poll_hz": 50,
        "offline_after_misses": 3,
        "offline_alarm_after_s": 3.0,
    },
    "locks": {"pulse_ms": 100, "gap_ms": 20},
    "policy": {"expiry_check_s": 0.5},
    # Tests open doors far faster than people do: the mass-open guard has a test of its own.
    "security": {"session_idle_minutes": 30, "mass_open_max": 100_000},
    # Test machines need not run a time server: the clock's own tests turn this back on.
    "clock": {"trust": "always"},
}


SIM_FILES = {"state_file": "sim-state.json", "control_socket": "sim.sock",
             "fire_log": "sim-fires.log"}  # fmt: skip
ROOT = Path(__file__).resolve().parents[1]


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):  # an inline table: a text per language
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    return json.dumps(str(v))


def render_config(
    data_dir: Path,
    sections: dict[str, dict[str, Any]] | None = None,
    person: str = "auto",
    close_delay_s: float = 0.4,
    sizes: list[str] = SIZES,
    open_delay_s: float = 0.0,
    ids: Sequence[str] | None = None,
    files_dir: Path | None = None,
    board: dict[str, Any] | None = None,
) -> str:
    """A daemon config on the sim driver with fast timings.

    ``sections`` add to (or replace keys of) any table, ``[kiosk]`` included; ``board``
    adds options to the sim board's table (``{"item_sensors": False}``).
    ``ids`` names the compartments (default A01, A02, ...): the wall picture gives each
    id letter a column of its own, so ``["A01", "A02", "B01"]`` makes two columns.
    ``files_dir``: the simulated bank's files and the recipients' inbox go there
    instead of the data dir (a test that fills the data dir's disk).
    """
    merged: dict[str, dict[str, Any]] = {k: dict(v) for k, v in FAST.items()}
    for name, values in (sections or {}).items():
        merged.setdefault(name, {}).update(values)
    kiosk: dict[str, Any] = {
        "id": "TEST-01",
        "name": "Test kiosk",
        "data_dir": str(data_dir),
        "socket": str(data_dir / "api.sock"),
        "operator_contact": "+49 30 999",
        **merged.pop("kiosk", {}),
    }
    # The simulated recipients' inbox (the file back end) is allowed on a demo kiosk only.
    notify: dict[str, Any] = {"backend": "file", **merged.pop("notify", {})}
    if notify["backend"] == "file":
        inbox = str(files_dir / "inbox.jsonl") if files_dir else "inbox.jsonl"
        merged["notify.file"] = {"path": inbox, **merged.get("notify.file", {})}
    lines = ["demo = true"] if notify["backend"] == "file" else []
    lines += ["[kiosk]"] + [f"{k} = {toml_value(v)}" for k, v in kiosk.items()]
    lines += ["[notify]"] + [f"{k} = {toml_value(v)}" for k, v in notify.items()]
    for name, values in merged.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in values.items()]
    lines += [
        "[[boards]]",
        'name = "bank"',
        'driver = "sim"',
        f'person = "{person}"',
        f"close_delay_s = {close_delay_s}",
    ]
    if open_delay_s:
        lines.append(f"open_delay_s = {open_delay_s}")
    if files_dir is not None:
        for option, name in SIM_FILES.items():
            lines.append(f"{option} = {toml_value(files_dir / name)}")
    lines += [f"{k} = {toml_value(v)}" for k, v in (board or {}).items()]
    names = list(ids) if ids is not None else [f"A{i:02d}" for i in range(1, len(sizes) + 1)]
    if len(names) != len(sizes):
        raise ValueError(f"{len(names)} ids for {len(sizes)} sizes")
    for i, (cid, size) in enumerate(zip(names, sizes, strict=True), start=1):
        lines += [
            "[[compartments]]",
            f'id = "{cid}"',
            f'size = "{size}"',
            'board = "bank"',
            f"lock = {i}",
            f"accessible = {toml_value(cid in ACCESSIBLE)}",
        ]
    return "\n".join(lines) + "\n"


class Daemon:
    """One kiosk daemon process and the handles a test needs around it."""

    def __init__(
        self,
        root: Path,
        users: Sequence[tuple[tuple[str, str], str]] = DEFAULT_USERS,
        wall_clock: Path | None = None,
        **config: Any,
    ) -> None:
        """``users``: the ``((name, pin), role)`` added before the first start.
        ``wall_clock``: a file holding how far the daemon's wall clock is stepped
        (:mod:`testkit.wallclock`)."""
        self.root = root
        self.users = tuple(users)
        self.data_dir = root / "data"
        self.files_dir: Path = config.get("files_dir") or self.data_dir
        self.wall_clock = wall_clock
        self.config_path = root / "kiosk.toml"
        self.config_path.write_text(render_config(self.data_dir, **config))
        self.socket = self.data_dir / "api.sock"
        #: the touchscreen's own socket (beside the API socket, as the config defaults)
        self.touchscreen_socket = self.data_dir / "touchscreen.sock"
        self.log_path = root / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.env: dict[str, str] = {}  # added to the daemon's environment (libfaketime)
        self._users_added = False

    # -- process --------------------------------------------------------------------

    def kiosk_cmd(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "kiosk", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def add_users(self) -> None:
        for (name, pin), role in self.users:
            r = self.kiosk_cmd(
                "users", "--config", str(self.config_path), "add", name, "--role", role,
                "--pin-stdin", stdin=pin + "\n",
            )  # fmt: skip
            assert r.returncode == 0, r.stderr
        self._users_added = True

    def start(self, timeout: float = 20.0) -> Daemon:
        if not self._users_added:
            self.add_users()
        ready = self.root / "ready"
        ready.unlink(missing_ok=True)
        program = ["-m", "kiosk"]
        if self.wall_clock is not None:
            program = ["-m", "testkit.wallclock", str(self.wall_clock)]
        self.proc = subprocess.Popen(
            [sys.executable, *program, "run", "--config", str(self.config_path),
             "--ready-file", str(ready)],
            stdout=subprocess.DEVNULL,
            stderr=open(self.log_path, "ab"),  # noqa: SIM115 - the child owns it
            env={**os.environ, **self.env},
            cwd=ROOT,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not ready.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"daemon not ready in {timeout} s:\n{self.log()}")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM and wait; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # -- handles --------------------------------------------------------------------

    def client(self, token: str | None = None) -> ApiClient:
        return ApiClient(str(self.socket), token=token, timeout=30)

    def touchscreen(self, token: str | None = None) -> ApiClient:
        """A client on the touchscreen's socket, as the UI connects."""
        return ApiClient(str(self.touchscreen_socket), token=token, timeout=30)

    def signed_in(self, who: tuple[str, str] = COURIER) -> ApiClient:
        c = self.client()
        c.sign_in(who[1], user=who[0])
        return c

    def sim(self) -> SimControl:
        return SimControl(str(self.files_dir / "sim.sock"))

    def ctl(self, *args: str, pin: str | None = None, user: str | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:  # fmt: skip
        """Run lockerctl; with ``pin``, as the person whose PIN it is (or ``user``)."""
        env = dict(os.environ, LOCKER_SOCKET=str(self.socket))
        env.pop("LOCKER_PIN", None)
        env.pop("LOCKER_USER", None)
        if pin is not None:
            env["LOCKER_PIN"] = pin
        owner = user or next((name for (name, p), _ in self.users if p == pin), None)
        if owner is not None:
            env["LOCKER_USER"] = owner
        return subprocess.run(
            [sys.executable, "-m", "kiosk.lockerctl", *args],
            capture_output=True, text=True, env=env, timeout=timeout, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def inbox(self) -> list[dict[str, Any]]:
        path = self.files_dir / "inbox.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line]

    def code_for(self, barcode: str, timeout: float = 10.0) -> str:
        """The pickup code the recipient of ``barcode`` was sent (from the sim inbox)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in self.inbox():
                if m["kind"] == "parcel_stored" and m["payload"]["barcode"] == barcode:
                    return str(m["payload"]["code"])
            time.sleep(0.05)
        raise AssertionError(f"no pickup code was sent for {barcode}")

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        rows = self.client().get("/v1/events", limit=10000)["events"]
        return [e for e in rows if kind is None or e["kind"] == kind]

    def wait_for(self, predicate: Any, timeout: float = 10.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def running_daemon(**config: Any) -> Iterator[Daemon]:
    # Short paths: a Unix socket path must stay under 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="lk-", dir="/tmp"))
    daemon = Daemon(root, **config)
    try:
        daemon.start()
        yield daemon
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def stepped_daemon(offset: float = 0.0, **config: Any) -> Iterator[tuple[Daemon, SteppedWallClock]]:
    """A started daemon whose wall clock the test steps (:mod:`testkit.wallclock`),
    starting ``offset`` seconds off the real one."""
    root = Path(tempfile.mkdtemp(prefix="lk-", dir="/tmp"))
    wall = SteppedWallClock(root / "wall-offset")
    wall.set(offset)
    daemon = Daemon(root, wall_clock=wall.path, **config)
    try:
        daemon.start()
        yield daemon, wall
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)
