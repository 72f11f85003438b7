"""``locker-office demo``: a broker, three simulated kiosks and the office, on loopback.

Debian's Mosquitto runs with the project's ACL (config/broker/locker-kiosk.acl) and an
account per kiosk and one for the office; three real kiosk daemons (``locker-kiosk run``
on the sim driver, headless) each have their own data dir, broker account and fleet
link; ``locker-office serve`` stores what they say in SQLite. A courier deposits a parcel
at each kiosk (``lockerctl``), so there is something to see at once; the demo prints
the console's address, a one-time admin password and a short guide, and then the
network as the office's database has it every few seconds. Every child runs in a
session of its own: Ctrl-C reaches only the demo, which stops the office, the kiosks
and the broker in that order and removes its folder, so nothing is left running.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from kiosk.fleet.envelope import new_key, private_pem
from office.store import schema as s
from office.store.engine import make_engine

KIOSKS = ("DEMO-1", "DEMO-2", "DEMO-3")
SIZES = ("S", "S", "M", "M", "L", "XL")
COURIER = ("demo-courier", "246813")
TECHNICIAN = ("demo-tech", "13572468")
KID = "ops-demo"
ACL = Path(__file__).resolve().parents[1] / "config" / "broker" / "locker-kiosk.acl"
STATUS_EVERY_S = 5.0


class DemoError(Exception):
    pass


@dataclass
class Demo:
    folder: Path
    port: int = 0
    passwords: dict[str, str] = field(default_factory=dict)
    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def spawn(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
        child = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.folder
        )
        self.children.append((name, child))
        return child

    def stop_all(self) -> None:
        for _name, child in reversed(self.children):
            _stop(child)


def run_demo(keep: bool = False) -> int:
    folder = Path(tempfile.mkdtemp(prefix="locker-office-demo-"))
    demo = Demo(folder)
    asked = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: asked.set())
    try:
        _start(demo, asked)
        if not asked.is_set():
            _watch(demo, asked)
        print("\nstopping the demo ...", flush=True)
        return 0
    except DemoError as exc:
        print(f"locker-office demo: {exc}", file=sys.stderr)
        return 1
    finally:
        demo.stop_all()
        if keep:
            print(f"the demo's folder is kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def _start(demo: Demo, asked: threading.Event) -> None:
    print("starting Mosquitto on loopback ...", flush=True)
    _broker(demo)
    key_file, keyring = _keys(demo.folder)
    config = _office_config(demo, key_file)
    _office("migrate", config)
    admin_password = secrets.token_urlsafe(12)
    _office(
        "users",
        config,
        "add",
        "admin",
        "--role",
        "admin",
        "--password-stdin",
        stdin=admin_password + "\n",
    )
    for kiosk in KIOSKS:
        if asked.is_set():
            return
        print(f"starting kiosk {kiosk} (the real daemon on the simulator) ...", flush=True)
        _kiosk(demo, kiosk, keyring)
    print("starting the office (locker-office serve) ...", flush=True)
    http = _free_port()
    demo.spawn(
        "office",
        [
            sys.executable,
            "-m",
            "office",
            "--config",
            str(config),
            "serve",
            "--listen",
            f"127.0.0.1:{http}",
        ],
    )
    for kiosk in KIOSKS:
        _deposit(demo, kiosk)
    _guide(demo, http, admin_password)


def _broker(demo: Demo) -> None:
    program = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if program is None or shutil.which("mosquitto_passwd") is None:
        raise DemoError("Mosquitto is not installed: apt-get install mosquitto")
    if not ACL.is_file():
        raise DemoError(f"the broker's ACL {ACL} is missing (run the demo from a checkout)")
    demo.passwords = {name: secrets.token_hex(12) for name in ("office", *KIOSKS)}
    passwd = demo.folder / "broker.passwd"
    fd = os.open(passwd, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.writelines(f"{name}:{pw}\n" for name, pw in demo.passwords.items())
    subprocess.run(["mosquitto_passwd", "-U", str(passwd)], check=True, capture_output=True)
    demo.port = _free_port()
    conf = demo.folder / "mosquitto.conf"
    conf.write_text(
        "per_listener_settings false\nallow_anonymous false\nset_tcp_nodelay true\n"
        f"password_file {passwd}\nacl_file {ACL}\npersistence true\n"
        f"persistence_location {demo.folder}/\nmax_queued_messages 200000\n"
        f"user {_login()}\nlistener {demo.port} 127.0.0.1\n"
    )
    broker = demo.spawn("mosquitto", [program, "-c", str(conf)])
    _wait_for_port(demo.port, broker, "Mosquitto", demo.folder / "mosquitto.log")


def _keys(folder: Path) -> tuple[Path, Path]:
    key, public = new_key()
    key_file = folder / "office.key"
    key_file.write_bytes(private_pem(key))
    key_file.chmod(0o600)
    keyring = folder / "fleet-keys.toml"
    keyring.write_text(f'[keys]\n{KID} = "{public}"\n')
    return key_file, keyring


def _secret_file(path: Path, secret: str) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secret + "\n")
    return path


def _office_config(demo: Demo, key_file: Path) -> Path:
    password = _secret_file(demo.folder / "office.password", demo.passwords["office"])
    path = demo.folder / "office.toml"
    path.write_text(
        '[database]\nurl = "sqlite:///office.db"\n'
        f'[mqtt]\nbroker = "127.0.0.1:{demo.port}"\ntls = false\nusername = "office"\n'
        f'password_file = "{password}"\nclient_id = "office-demo"\n'
        f'[signing]\nkey = "{key_file}"\nkid = "{KID}"\n'
        "[ingest]\nkiosk_offline_alarm_min = 0.5\ngap_grace_s = 2\n"
    )
    return path


def _kiosk(demo: Demo, kiosk: str, keyring: Path) -> None:
    home = demo.folder / kiosk
    data = home / "data"
    data.mkdir(parents=True)
    os.chmod(home, 0o750)
    password = _secret_file(home / "fleet.password", demo.passwords[kiosk])
    lines = [
        "demo = true",
        "[kiosk]",
        f'id = "{kiosk}"',
        f'name = "Demo kiosk {kiosk}"',
        f'data_dir = "{data}"',
        f'socket = "{data}/api.sock"',
        "[notify]",
        'backend = "file"',
        "[notify.file]",
        'path = "inbox.jsonl"',
        "[fleet]",
        f'broker = "127.0.0.1:{demo.port}"',
        "tls = false",
        f'password_file = "{password}"',
        f'keyring = "{keyring}"',
        "health_interval_s = 10",
        "reconnect_max_s = 5",
        "[[boards]]",
        'name = "bank"',
        'driver = "sim"',
        'person = "auto"',
    ]
    for lock, size in enumerate(SIZES, start=1):
        lines += [
            "[[compartments]]",
            f'id = "A{lock:02d}"',
            f'size = "{size}"',
            'board = "bank"',
            f"lock = {lock}",
        ]
    config = home / "kiosk.toml"
    config.write_text("\n".join(lines) + "\n")
    for (name, pin), role in ((COURIER, "courier"), (TECHNICIAN, "technician")):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "kiosk",
                "users",
                "--config",
                str(config),
                "add",
                name,
                "--role",
                role,
                "--pin-stdin",
            ],
            input=pin + "\n",
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise DemoError(f"{kiosk}: cannot add {name}: {done.stderr.strip()}")
    ready = home / "ready"
    daemon = demo.spawn(
        kiosk,
        [sys.executable, "-m", "kiosk", "run", "--config", str(config), "--ready-file", str(ready)],
    )
    deadline = time.monotonic() + 30
    while not ready.exists():
        if daemon.poll() is not None or time.monotonic() > deadline:
            raise DemoError(f"{kiosk} did not start; see {demo.folder / kiosk}.log")
        time.sleep(0.1)


def _deposit(demo: Demo, kiosk: str) -> None:
    """A courier deposits one parcel, through the kiosk's own lockerctl."""
    env = dict(
        os.environ,
        LOCKER_SOCKET=str(demo.folder / kiosk / "data" / "api.sock"),
        LOCKER_USER=COURIER[0],
        LOCKER_PIN=COURIER[1],
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "kiosk.lockerctl",
            "deposit",
            f"JJD{kiosk[-1]}000123",
            "--size",
            "M",
            "--phone",
            "+4915112345678",
        ],
        env=env,
        capture_output=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def _guide(demo: Demo, http: int, admin_password: str) -> None:
    console = f"http://127.0.0.1:{http}"
    print(
        f"""
The network is up: Mosquitto on 127.0.0.1:{demo.port}, kiosks {", ".join(KIOSKS)}, the office.

  the console:     {console}/
  sign in as:      admin / {admin_password}   (shown once; made with locker-office users add)
  office database: {demo.folder / "office.db"} (SQLite)

In the console (a browser on this machine):
  1. open a door from the console and watch the kiosk's event come back:
     Network -> {KIOSKS[0]} -> "Open one door" (A01, a reason) -> "Open door". The command
     shows "Waiting for the kiosk", then the kiosk's answer; "Door opened" and "Door
     closed" arrive under Recent events (the simulated person closes it).
  2. stop a kiosk and watch it go offline (kill -9 stands for a power cut):
       kill -9 {dict(demo.children)[KIOSKS[1]].pid}
     {KIOSKS[1]} turns Offline on the Network page; after 30 s its "Kiosk offline" alarm
     is in Alarms.
  3. acknowledge that alarm: Alarms -> a note -> "Acknowledge"; the inbox keeps who and
     when, and Audit shows every action you took.

Ctrl-C stops everything.
""",
        flush=True,
    )


def _watch(demo: Demo, asked: threading.Event) -> None:
    engine = make_engine(f"sqlite:///{demo.folder / 'office.db'}")
    office = dict(demo.children)["office"]
    while not asked.wait(STATUS_EVERY_S):
        if office.poll() is not None:
            raise DemoError(f"the office stopped; see {demo.folder / 'office.log'}")
        print(_status_line(engine), flush=True)
    engine.dispose()


def _status_line(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        kiosks = conn.execute(
            sa.select(s.kiosks.c.id, s.kiosks.c.status).order_by(s.kiosks.c.id)
        ).all()
        events = conn.execute(sa.select(sa.func.count()).select_from(s.events)).scalar_one()
        alarms = conn.execute(
            sa.select(s.alarms.c.kind, s.alarms.c.kiosk)
            .where(s.alarms.c.acked_at.is_(None))
            .order_by(s.alarms.c.id)
        ).all()
        last = conn.execute(
            sa.select(s.events.c.kiosk, s.events.c.seq, s.events.c.kind)
            .order_by(s.events.c.id.desc())
            .limit(1)
        ).first()
    who = " ".join(f"{k}:{status}" for k, status in kiosks)
    open_alarms = ", ".join(f"{kind}@{kiosk}" for kind, kiosk in alarms[-3:]) or "none"
    newest = f"{last[0]} #{last[1]} {last[2]}" if last else "-"
    return (
        f"{time.strftime('%H:%M:%S')}  {who}  events {events} (newest {newest})  "
        f"alarms not acknowledged: {len(alarms)} ({open_alarms})"
    )


def _office(command: str, config: Path, *args: str, stdin: str = "") -> None:
    done = subprocess.run(
        [sys.executable, "-m", "office", "--config", str(config), command, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise DemoError(f"locker-office {command} failed: {done.stderr.strip()}")


def _stop(child: subprocess.Popen[bytes], timeout_s: float = 15.0) -> None:
    if child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(timeout_s)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, child: subprocess.Popen[bytes], name: str, log: Path) -> None:
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if child.poll() is not None or time.monotonic() > deadline:
                raise DemoError(f"{name} did not start; see {log}") from None
            time.sleep(0.05)


def _login() -> str:
    import getpass

    return getpass.getuser()
