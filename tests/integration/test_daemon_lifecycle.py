"""The daemon as a process: start, systemd readiness, SIGTERM, bad configs, safe-off."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from kiosk.protocol.client import ApiError
from testkit.daemon import TECHNICIAN, Daemon, running_daemon


def test_daemon_tells_systemd_it_is_ready_and_pings_the_watchdog() -> None:
    root = Path(tempfile.mkdtemp(prefix="lk-", dir="/tmp"))
    sock_path = root / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(sock_path))
    listener.settimeout(20)
    env = dict(os.environ, NOTIFY_SOCKET=str(sock_path), WATCHDOG_USEC="1000000")
    daemon = Daemon(root)
    daemon.add_users()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "run", "--config", str(daemon.config_path)],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        seen: set[str] = set()
        while not {"READY=1", "WATCHDOG=1"} <= seen:
            seen.update(listener.recv(4096).decode().splitlines())
        proc.terminate()
        assert proc.wait(15) == 0
        seen.update(listener.recv(4096).decode().splitlines())
        assert "STOPPING=1" in seen
    finally:
        if proc.poll() is None:
            proc.kill()
        listener.close()


def test_sigterm_parks_the_open_door_switches_outputs_off_and_exits_zero() -> None:
    with running_daemon(person="manual") as daemon:
        tech = daemon.signed_in(TECHNICIAN)
        daemon.sim().set_person("manual")
        view = tech.post("/v1/compartments/A03/open")
        assert view["message"] == "Door A03 is open."
        assert daemon.stop() == 0
        assert "kiosk_stopped" in daemon.log()
        # The operation is still in the journal; the next start adopts it, fires nothing.
        daemon.start()
        comps = {c["id"]: c for c in daemon.client().get("/v1/compartments")["compartments"]}
        assert comps["A03"]["door"] == "OPEN" and comps["A03"]["operation"] is not None
        fire_log = (daemon.data_dir / "sim-fires.log").read_text().splitlines()
        assert [line.split()[-1] for line in fire_log] == ["A03"]
        assert all(not c["energised"] for c in daemon.sim().snapshot().values())


def test_a_bad_config_refuses_to_start_naming_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[kiosk]\nid = "X"\nlangauges = ["en"]\n[locks]\npulse_ms = 5000\n')
    r = subprocess.run(
        [sys.executable, "-m", "kiosk", "run", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 2
    assert f"{bad}: kiosk.langauges: unknown key (did you mean 'languages'?)" in r.stderr
    assert "locks.pulse_ms: must be at most 2000 (the hard cap), got 5000" in r.stderr


def test_a_second_daemon_on_the_same_socket_is_refused(daemon: Daemon) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "kiosk", "run", "--config", str(daemon.config_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode != 0
    assert f"another daemon is already running on {daemon.data_dir}" in r.stderr
    assert daemon.client().get("/v1/status")["kiosk"]["id"] == "TEST-01"


def test_a_kiosk_without_a_fleet_link_never_loads_the_signing_library(daemon: Daemon) -> None:
    """cryptography costs an idle daemon about 7 MB; only the fleet link and the staff
    key need it. The daemon has served a request and swept its records by now."""
    assert daemon.client().get("/v1/status")["kiosk"]["id"] == "TEST-01"
    assert daemon.proc is not None
    maps = Path(f"/proc/{daemon.proc.pid}/maps").read_text()
    assert "/cryptography/" not in maps
    assert "/pydantic_core/" in maps  # the check reads the right process's libraries


def test_safe_off_switches_every_lock_output_off_without_the_daemon(tmp_path: Path) -> None:
    root = Path(tempfile.mkdtemp(prefix="lk-", dir="/tmp"))
    daemon = Daemon(root)
    r = daemon.kiosk_cmd("safe-off", "--config", str(daemon.config_path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "board 'bank': all 12 lock outputs off"


def test_users_are_added_listed_and_removed_offline(tmp_path: Path) -> None:
    root = Path(tempfile.mkdtemp(prefix="lk-", dir="/tmp"))
    daemon = Daemon(root)
    cfg = str(daemon.config_path)

    def add(name: str, role: str, pin: str, *more: str) -> subprocess.CompletedProcess[str]:
        return daemon.kiosk_cmd("users", "--config", cfg, "add", name, "--role", role,
                                *more, "--pin-stdin", stdin=pin + "\n")  # fmt: skip

    added = add("anna", "courier", "48291375", "--badge", "BADGE-0042")
    assert added.returncode == 0 and added.stdout.strip() == "added courier anna with a badge"
    same_pin = add("bert", "courier", "48291375")  # a PIN need not be unique: names tell
    assert same_pin.returncode == 0, same_pin.stderr
    assert add("ANNA", "courier", "50718264").stderr.strip() == (
        "locker-kiosk: a user named 'anna' exists (the kiosk reads names without regard to "
        "capitals)"
    )
    listing = daemon.kiosk_cmd("users", "--config", cfg, "list")
    assert listing.stdout.split() == ["anna", "courier", "local", "badge", "bert", "courier",
                                      "local"]  # fmt: skip
    # the issue's own spelling: the config after the subcommand
    assert daemon.kiosk_cmd("users", "list", "--config", cfg).stdout == listing.stdout
    no_config = daemon.kiosk_cmd("users", "list")
    assert no_config.returncode == 1 and "--config FILE is required" in no_config.stderr
    assert daemon.kiosk_cmd("users", "--config", cfg, "remove", "anna").returncode == 0
    gone = daemon.kiosk_cmd("users", "--config", cfg, "remove", "anna")
    assert gone.returncode == 1 and "no user 'anna'" in gone.stderr


@pytest.mark.parametrize(
    ("role", "pin", "refusal"),
    [
        ("courier", "48291", "a courier's PIN has 6 to 12 digits "
         "(security.courier_pin_digits = 6); choose a longer one"),
        ("technician", "482913", "a technician's PIN has 8 to 12 digits "
         "(security.technician_pin_digits = 8); choose a longer one"),
        ("technician", "12345678", "that PIN is among the first a guesser tries (one digit "
         "repeated, or digits counting up or down); choose another"),
    ],
)  # fmt: skip
def test_users_add_refuses_a_pin_that_breaks_the_rule_saying_why(
    role: str, pin: str, refusal: str
) -> None:
    root = Path(tempfile.mkdtemp(prefix="lk-", dir="/tmp"))
    daemon = Daemon(root)
    refused = daemon.kiosk_cmd("users", "--config", str(daemon.config_path), "add", "tess",
                               "--role", role, "--pin-stdin", stdin=pin + "\n")  # fmt: skip
    assert refused.returncode == 1
    assert refused.stderr.strip() == f"locker-kiosk: {refusal}"
    assert pin not in refused.stdout
    listing = daemon.kiosk_cmd("users", "--config", str(daemon.config_path), "list")
    assert "tess" not in listing.stdout


def test_users_add_refuses_a_name_the_kiosk_keyboard_cannot_type(tmp_path: Path) -> None:
    root = Path(tempfile.mkdtemp(prefix="lk-", dir="/tmp"))
    daemon = Daemon(root)
    refused = daemon.kiosk_cmd("users", "--config", str(daemon.config_path), "add", "jo.e",
                               "--role", "courier", "--pin-stdin", stdin="48291375\n")  # fmt: skip
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "locker-kiosk: a name is 1 to 32 letters A-Z, digits or '-', as the kiosk's keyboard "
        "types them; got 'jo.e'"
    )


def test_a_badge_names_the_courier_and_the_pin_signs_them_in(tmp_path: Path) -> None:
    with running_daemon() as daemon:
        r = daemon.kiosk_cmd("users", "--config", str(daemon.config_path), "add", "bea",
                             "--role", "courier", "--badge", "B-77", "--pin-stdin",
                             stdin="55667788\n")  # fmt: skip
        assert r.returncode == 0, r.stderr
        c = daemon.client()
        with pytest.raises(ApiError) as badge_alone:
            c.sign_in(None, badge="B-77")  # type: ignore[arg-type]
        assert badge_alone.value.status == 400
        assert badge_alone.value.message == "Sign in with your name or badge, and your PIN."
        assert c.sign_in("55667788", badge="B-77")["user"] == "bea"


def test_a_backup_made_while_the_kiosk_runs_restores_into_a_kiosk_that_knows_every_code(
    tmp_path: Path,
) -> None:
    with running_daemon() as daemon:
        courier = daemon.signed_in()
        view = courier.post("/v1/deposits", {"barcode": "BACKUP-1", "size": "S",
                                             "phone": "+4915112345678"})  # fmt: skip
        courier.wait_operation(view["operation"], until_done=True)
        code = daemon.code_for("BACKUP-1")
        dest = tmp_path / "copy"
        made = daemon.kiosk_cmd("backup", "--config", str(daemon.config_path), str(dest))
        assert made.returncode == 0, made.stderr
        assert "1 parcels" in made.stdout and "integrity ok" in made.stdout
        assert sorted(p.name for p in dest.iterdir()) == ["backup.json", "kiosk.db", "kiosk.key"]
        assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in dest.iterdir())
        again = daemon.kiosk_cmd("backup", "--config", str(daemon.config_path), str(dest))
        assert again.returncode == 1 and "is not empty" in again.stderr

        # Restore: stop, put the copy in place of the data dir's files, start.
        assert daemon.stop() == 0
        for name in ("kiosk.db", "kiosk.db-wal", "kiosk.db-shm", "kiosk.key"):
            (daemon.data_dir / name).unlink(missing_ok=True)
        for name in ("kiosk.db", "kiosk.key"):
            shutil.copy2(dest / name, daemon.data_dir / name)
        daemon.start()
        picked = daemon.client().post("/v1/pickup", {"code": code})
        assert picked["compartment"] == view["compartment"]
