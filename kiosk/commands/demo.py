"""``locker-kiosk demo``: the whole product on the simulator, on a throwaway data dir.

The demo is a real deployment in miniature: ``locker-kiosk sim`` emulates the config's
two Kerong boards on a pseudo-terminal, the daemon runs as its own process with
``config/demo.toml`` and its real serial driver, a courier deposits a few parcels
through the real API (the simulated person closes the doors), and the pickup codes are
read from the simulated recipients' inbox, as a customer would read them from an SMS.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from kiosk.config import load_config
from kiosk.protocol.client import ApiClient, ApiError, DaemonUnreachable

DEMO_COURIER = ("demo-courier", "246810")
DEMO_TECHNICIAN = ("demo-tech", "97531864")
PARCELS = [
    ("1Z999AA10123456784", "S", "+49 151 23456789"),
    ("JJD0099887766554433", "M", "+49 160 9876543"),
    ("RR123456785DE", "L", "+49 171 1112223"),
]


def default_config() -> Path:
    here = Path(__file__).resolve().parents[2] / "config" / "demo.toml"
    return here


class _Stopped(Exception):
    """Ctrl-C (or SIGTERM) came while the demo was starting."""


class _Demo:
    """The demo's children, each in a session of its own so that the terminal's Ctrl-C
    reaches the demo alone, and the demo stops them in order: front ends, then the
    daemon (whose exit switches every lock output off over the emulated bus), then the
    emulated boards, which must still be there to hear it."""

    def __init__(self, config_path: Path, data_dir: Path) -> None:
        self.config_path = config_path
        self.data_dir = data_dir
        self.asked = threading.Event()  # set by Ctrl-C or SIGTERM; checked between steps
        self.sim: subprocess.Popen[bytes] | None = None
        self.daemon: subprocess.Popen[bytes] | None = None
        self.windows: list[subprocess.Popen[bytes]] = []

    def check(self) -> None:
        """Raise :class:`_Stopped` if a stop was asked for."""
        if self.asked.is_set():
            raise _Stopped

    def pause(self, seconds: float) -> None:
        """Sleep, but raise :class:`_Stopped` at once if a stop is asked for meanwhile."""
        if self.asked.wait(seconds):
            raise _Stopped

    def spawn(self, args: list[str], log: str, **kwargs: Any) -> subprocess.Popen[bytes]:
        """``locker-kiosk ARGS`` in a session of its own, its stderr into ``log``."""
        kwargs.setdefault("stdout", subprocess.DEVNULL)
        with open(self.data_dir / log, "ab") as err:  # the child has its own copy
            return subprocess.Popen(
                [sys.executable, "-m", "kiosk", *args],
                stderr=err,
                start_new_session=True,
                **kwargs,
            )

    def stop(self) -> None:
        for child in self.windows:
            _stop(child, 5)
        if self.daemon is not None:
            _stop(self.daemon, 10)
        if self.sim is not None:
            _stop(self.sim, 5)


def run_demo(config_path: Path | None, keep: bool = False) -> int:
    config_path = config_path or default_config()
    load_config(config_path)  # refuse a broken config before starting anything
    data_dir = Path(tempfile.mkdtemp(prefix="locker-kiosk-demo-"))  # 0700, as every data dir
    demo = _Demo(config_path, data_dir)
    # Ctrl-C (or SIGTERM) only asks to stop, at any time: a KeyboardInterrupt raised
    # inside Popen.poll() could leave its lock taken, and the stop would then wait for a
    # child for ever. Every wait below is short and looks at the question.
    previous = {sig: signal.signal(sig, lambda *_: demo.asked.set()) for sig in _STOP_SIGNALS}
    try:
        return _run(demo)
    except _Stopped:
        print("\nstopping the demo ...", flush=True)
        return 0
    finally:
        demo.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if keep:
            print(f"data dir kept: {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _run(demo: _Demo) -> int:
    data_dir = demo.data_dir
    socket_path = data_dir / "api.sock"
    print(f"starting the demo kiosk (data in {data_dir}) ...", flush=True)
    for (name, pin), role in ((DEMO_COURIER, "courier"), (DEMO_TECHNICIAN, "technician")):
        _add_user(demo, name, pin, role)
    demo.sim = _start_simulator(demo)
    print("starting the daemon on the emulated boards ...", flush=True)
    demo.daemon = demo.spawn(
        ["run", "--config", str(demo.config_path), "--data-dir", str(data_dir)], "daemon.log"
    )
    client = _wait_ready(demo, socket_path)
    codes = _seed(demo, client)
    demo.windows += _start_windows(demo)
    demo.check()
    _print_guide(data_dir, socket_path, codes)
    daemon = demo.daemon
    while daemon.poll() is None:
        if demo.asked.wait(0.5):
            print("\nstopping the demo ...", flush=True)
            return 0
    print(f"the daemon stopped (exit {daemon.returncode}); see {data_dir}/daemon.log")
    return 1


def _stop(child: subprocess.Popen[bytes], timeout_s: float) -> None:
    """SIGTERM, then SIGKILL if ``child`` has not exited within ``timeout_s``."""
    if child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(timeout_s)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _add_user(demo: _Demo, name: str, pin: str, role: str) -> None:
    """``locker-kiosk users add`` (users are managed offline, on the data dir)."""
    args = ["users", "--config", str(demo.config_path), "--data-dir", str(demo.data_dir),
            "add", name, "--role", role, "--pin-stdin"]  # fmt: skip
    child = demo.spawn(args, "users.log", stdin=subprocess.PIPE)
    assert child.stdin is not None
    child.stdin.write(pin.encode() + b"\n")
    child.stdin.close()
    try:
        while child.poll() is None:
            demo.pause(0.05)
    except _Stopped:
        _stop(child, 5)
        raise
    if child.returncode != 0:
        raise SystemExit(f"could not add the demo's {role}; see users.log in {demo.data_dir}")


def _start_simulator(demo: _Demo) -> subprocess.Popen[bytes]:
    """The emulated lock control boards, on pseudo-terminals in the data dir."""
    print("starting the emulated lock control boards ...", flush=True)
    data_dir = demo.data_dir
    sim = demo.spawn(
        ["sim", "--config", str(demo.config_path), "--data-dir", str(data_dir)], "sim.log"
    )
    deadline = time.monotonic() + 15
    while not (data_dir / "sim.sock").exists():
        if sim.poll() is not None or time.monotonic() > deadline:
            _stop(sim, 5)
            raise SystemExit("the simulator did not start; see sim.log in the data dir")
        try:
            demo.pause(0.05)
        except _Stopped:
            _stop(sim, 5)
            raise
    return sim


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _start_windows(demo: _Demo) -> list[subprocess.Popen[bytes]]:
    """The touchscreen (on its own socket) and the simulator's window; offscreen when
    there is no display."""
    env = dict(os.environ)
    if not has_display():
        env["SDL_VIDEODRIVER"] = "dummy"
        env["SDL_AUDIODRIVER"] = "dummy"
        print("no display: the touchscreen runs offscreen (drive it with lockerctl, or run "
              "./run-demo on a desktop to see it)", flush=True)  # fmt: skip
    touchscreen = demo.data_dir / "touchscreen.sock"
    with open(demo.data_dir / "ui.log", "ab") as log:  # each child has its own copy
        children = [demo.spawn(["ui", "--socket", str(touchscreen)], "ui.log", env=env, stdout=log)]
        if has_display():
            control = str(demo.data_dir / "sim.sock")
            window = ["sim-window", "--control", control]
            children.append(demo.spawn(window, "ui.log", env=env, stdout=log))
    return children


def _wait_ready(demo: _Demo, socket_path: Path) -> ApiClient:
    daemon = demo.daemon
    assert daemon is not None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise SystemExit("the daemon did not start; see daemon.log in the data dir")
        if socket_path.exists():
            client = ApiClient(str(socket_path))
            try:
                client.get("/v1/status")
                return client
            except DaemonUnreachable:
                pass
        demo.pause(0.1)
    raise SystemExit("the daemon did not become ready within 20 s")


def _seed(demo: _Demo, client: ApiClient) -> list[tuple[str, str, str]]:
    """Deposit the demo parcels through the API, as a courier would."""
    print("a courier deposits three parcels ...", flush=True)
    client.sign_in(DEMO_COURIER[1], user=DEMO_COURIER[0])
    ops = []
    try:
        for barcode, size, phone in PARCELS:
            demo.check()
            view = client.post("/v1/deposits", {"barcode": barcode, "size": size, "phone": phone})
            ops.append(view["operation"])
        for op in ops:
            while client.get(f"/v1/operations/{op}", wait=0.2).get("live"):
                demo.check()
    except ApiError as exc:
        print(f"demo: deposit failed: {exc}", file=sys.stderr)
    finally:
        if not demo.asked.is_set():
            client.sign_out()
    return _codes_from_inbox(demo, demo.data_dir / "demo-inbox.jsonl", len(ops))


def _codes_from_inbox(demo: _Demo, inbox: Path, expected: int) -> list[tuple[str, str, str]]:
    deadline = time.monotonic() + 10
    found: list[tuple[str, str, str]] = []
    while time.monotonic() < deadline:
        if inbox.exists():
            lines = [json.loads(line) for line in inbox.read_text().splitlines() if line]
            found = [(m["payload"]["barcode"], m["payload"]["compartment"], m["payload"]["code"])
                     for m in lines if m["kind"] == "parcel_stored"]  # fmt: skip
            if len(found) >= expected:
                break
        demo.pause(0.2)
    return found


def ctl_command() -> tuple[str, str]:
    """How the guide's commands reach ``lockerctl`` from a new terminal: an ``export
    PATH=`` line for the directory of this Python's scripts (a venv's ``bin``, not on a
    newcomer's PATH), and the command; ``python -m kiosk.lockerctl`` by its full path where
    no ``lockerctl`` script was installed beside this Python."""
    scripts = Path(sys.executable).parent  # not resolved: a venv's python is a symlink
    if (scripts / "lockerctl").is_file() and os.access(scripts / "lockerctl", os.X_OK):
        return f"export PATH={shlex.quote(str(scripts))}:$PATH", "lockerctl"
    return "", f"{shlex.quote(sys.executable)} -m kiosk.lockerctl"


def _try_line(command: str, what: str) -> str:
    """One command to paste, whole on its line, and what it does beside it (or below)."""
    if len(command) <= 38:
        return f"    {command:<38} {what}"
    return f"    {command}\n    {'':<38} {what}"


def _print_guide(data_dir: Path, socket_path: Path, codes: list[tuple[str, str, str]]) -> None:
    rows = "\n".join(f"    {code}   door {cid:<4} parcel {bc}" for bc, cid, code in codes)
    courier, tech = DEMO_COURIER, DEMO_TECHNICIAN
    first = codes[0][2] if codes else "12345678"
    path_line, ctl = ctl_command()
    exports = f"    {path_line}\n" if path_line else ""
    as_courier = f"LOCKER_USER={courier[0]} LOCKER_PIN={courier[1]}"
    tries = "\n".join(
        _try_line(command, what)
        for command, what in [
            (f"{ctl} status", "the kiosk at a glance"),
            (f"{ctl} pickup {first}", "a customer picks up a parcel"),
            (f"{as_courier} {ctl} deposit PARCEL123 --size M --phone +4915112345678",
             "a courier deposits"),
            (f"LOCKER_USER={tech[0]} LOCKER_PIN={tech[1]} {ctl} selftest",
             "a technician tests every lock"),
            (f"{ctl} events --follow", "watch what happens"),
            (f"{ctl} compartments", "every door and its state"),
        ]
    )  # fmt: skip
    print(f"""
The demo kiosk is running on the simulator (data in {data_dir}).

Pickup codes sent to the recipients (demo only: a real kiosk never shows them):
{rows}

In another terminal, paste these lines first:
{exports}    export LOCKER_SOCKET={shlex.quote(str(socket_path))}
then try:
{tries}
On the touchscreen, Courier signs them in: type the name ({courier[0]} or {tech[0]}), then
the PIN.

The simulated person opens each door that unlocks and closes it two seconds later. They
put a parcel in only for a deposit and take it out only for a pickup (or a courier's
return); a self-test, open-all or a technician's open leaves the compartment as it was.
The daemon talks to two emulated Kerong boards over a pseudo-terminal ({data_dir}/kerong-bus).
Press Ctrl-C to stop the demo; nothing is left running.
""", flush=True)  # fmt: skip
