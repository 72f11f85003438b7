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
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

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


def run_demo(config_path: Path | None, keep: bool = False) -> int:
    config_path = config_path or default_config()
    load_config(config_path)  # refuse a broken config before starting anything
    data_dir = Path(tempfile.mkdtemp(prefix="locker-kiosk-demo-"))  # 0700, as every data dir
    socket_path = data_dir / "api.sock"
    daemon: subprocess.Popen[bytes] | None = None
    sim: subprocess.Popen[bytes] | None = None
    windows: list[subprocess.Popen[bytes]] = []
    try:
        for (name, pin), role in ((DEMO_COURIER, "courier"), (DEMO_TECHNICIAN, "technician")):
            _kiosk(["users", "--config", str(config_path), "--data-dir", str(data_dir), "add",
                    name, "--role", role, "--pin-stdin"], pin)  # fmt: skip
        sim = _start_simulator(config_path, data_dir)
        print("starting the daemon on the emulated boards ...", flush=True)
        daemon = subprocess.Popen(
            [sys.executable, "-m", "kiosk", "run", "--config", str(config_path),
             "--data-dir", str(data_dir)],
            stderr=open(data_dir / "daemon.log", "ab"),  # noqa: SIM115 - the child owns it
        )  # fmt: skip
        client = _wait_ready(socket_path, daemon)
        codes = _seed(client, data_dir)
        windows += _start_windows(data_dir, data_dir / "touchscreen.sock")
        _print_guide(data_dir, socket_path, codes)
        # From here Ctrl+C (or SIGTERM) only asks to stop: a KeyboardInterrupt raised
        # inside Popen.poll() could leave its lock taken, and the stop below would then
        # wait for the daemon for ever.
        asked = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: asked.set())
        while daemon.poll() is None:
            if asked.wait(0.5):
                print("\nstopping the demo ...", flush=True)
                return 0
        print(f"the daemon stopped (exit {daemon.returncode}); see {data_dir}/daemon.log")
        return 1
    except KeyboardInterrupt:  # Ctrl+C while starting
        print("\nstopping the demo ...")
        return 0
    finally:
        # Front ends first, then the daemon (its exit switches every lock output off over
        # the emulated bus), and the emulated boards last, so that switch-off reaches them.
        for child in windows:
            _stop(child, 5)
        if daemon is not None:
            _stop(daemon, 10)
        if sim is not None:
            _stop(sim, 5)
        if keep:
            print(f"data dir kept: {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


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


def _start_simulator(config_path: Path, data_dir: Path) -> subprocess.Popen[bytes]:
    """The emulated lock control boards, on pseudo-terminals in the data dir."""
    print("starting the emulated lock control boards ...", flush=True)
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kiosk",
            "sim",
            "--config",
            str(config_path),
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(data_dir / "sim.log", "ab"),  # noqa: SIM115
    )
    deadline = time.monotonic() + 15
    while not (data_dir / "sim.sock").exists():
        if sim.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the simulator did not start; see sim.log in the data dir")
        time.sleep(0.05)
    return sim


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _start_windows(data_dir: Path, touchscreen: Path) -> list[subprocess.Popen[bytes]]:
    """The touchscreen (on its own socket) and the simulator's window; offscreen when
    there is no display."""
    log = open(data_dir / "ui.log", "ab")  # noqa: SIM115 - the children own it
    env = dict(os.environ)
    if not has_display():
        env["SDL_VIDEODRIVER"] = "dummy"
        env["SDL_AUDIODRIVER"] = "dummy"
        print("no display: the touchscreen runs offscreen (drive it with lockerctl, or run "
              "./run-demo on a desktop to see it)", flush=True)  # fmt: skip
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "kiosk", "ui", "--socket", str(touchscreen)],
            env=env,
            stderr=log,
            stdout=log,
        ),
    ]
    if has_display():
        children.append(subprocess.Popen(
            [sys.executable, "-m", "kiosk", "sim-window", "--control", str(data_dir / "sim.sock")],
            env=env, stderr=log, stdout=log,
        ))  # fmt: skip
    return children


def _kiosk(args: list[str], stdin: str) -> None:
    """Run a locker-kiosk command (users are managed offline, on the data dir)."""
    subprocess.run([sys.executable, "-m", "kiosk", *args], input=stdin.encode(), check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def _wait_ready(socket_path: Path, daemon: subprocess.Popen[bytes]) -> ApiClient:
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
        time.sleep(0.1)
    raise SystemExit("the daemon did not become ready within 20 s")


def _seed(client: ApiClient, data_dir: Path) -> list[tuple[str, str, str]]:
    """Deposit the demo parcels through the API, as a courier would."""
    print("a courier deposits three parcels ...", flush=True)
    client.sign_in(DEMO_COURIER[1], user=DEMO_COURIER[0])
    ops = []
    try:
        for barcode, size, phone in PARCELS:
            view = client.post("/v1/deposits", {"barcode": barcode, "size": size, "phone": phone})
            ops.append(view["operation"])
        for op in ops:
            client.wait_operation(op, until_done=True)
    except ApiError as exc:
        print(f"demo: deposit failed: {exc}", file=sys.stderr)
    finally:
        client.sign_out()
    return _codes_from_inbox(data_dir / "demo-inbox.jsonl", len(ops))


def _codes_from_inbox(inbox: Path, expected: int) -> list[tuple[str, str, str]]:
    deadline = time.monotonic() + 10
    found: list[tuple[str, str, str]] = []
    while time.monotonic() < deadline:
        if inbox.exists():
            lines = [json.loads(line) for line in inbox.read_text().splitlines() if line]
            found = [(m["payload"]["barcode"], m["payload"]["compartment"], m["payload"]["code"])
                     for m in lines if m["kind"] == "parcel_stored"]  # fmt: skip
            if len(found) >= expected:
                break
        time.sleep(0.2)
    return found


def _print_guide(data_dir: Path, socket_path: Path, codes: list[tuple[str, str, str]]) -> None:
    rows = "\n".join(f"    {code}   door {cid:<4} parcel {bc}" for bc, cid, code in codes)
    courier, tech = DEMO_COURIER, DEMO_TECHNICIAN
    first = codes[0][2] if codes else "12345678"
    print(f"""
The demo kiosk is running on the simulator (data in {data_dir}).

Pickup codes sent to the recipients (demo only: a real kiosk never shows them):
{rows}

In another terminal:
    export LOCKER_SOCKET={socket_path}
    lockerctl status                       the kiosk at a glance
    lockerctl pickup {first}                a customer picks up a parcel
    LOCKER_USER={courier[0]} LOCKER_PIN={courier[1]} lockerctl deposit PARCEL123 --size M \\
        --phone +4915112345678             a courier deposits
    LOCKER_USER={tech[0]} LOCKER_PIN={tech[1]} lockerctl selftest
                                           a technician tests every lock
On the touchscreen, Courier signs them in: type the name ({courier[0]} or {tech[0]}), then
the PIN.
    lockerctl events --follow              watch what happens
    lockerctl compartments                 every door and its state

The simulated person opens each door that unlocks and closes it two seconds later.
The daemon talks to two emulated Kerong boards over a pseudo-terminal ({data_dir}/kerong-bus).
Press Ctrl-C to stop the demo; nothing is left running.
""", flush=True)  # fmt: skip
