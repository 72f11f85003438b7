"""``locker-office check-config``: one message per problem, each naming the file and key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kiosk.fleet.envelope import new_key, private_pem


def check(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "office", "--config", str(config), "check-config"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_good_config_is_ok_and_names_what_it_will_use(tmp_path: Path) -> None:
    key, _public = new_key()
    (tmp_path / "ops.key").write_bytes(private_pem(key))
    (tmp_path / "ops.key").chmod(0o600)
    (tmp_path / "broker.password").write_text("s3cret\n")
    (tmp_path / "broker.password").chmod(0o600)
    config = tmp_path / "office.toml"
    config.write_text(
        '[database]\nurl = "postgresql+psycopg://office@/office?host=/run/postgresql"\n'
        '[mqtt]\nbroker = "127.0.0.1:1883"\ntls = false\npassword_file = "broker.password"\n'
        'client_id = "office-2"\n[signing]\nkey = "ops.key"\nkid = "ops-2026"\n'
        '[ingest]\nkiosk_offline_alarm_min = 5\n[web]\nlisten = "127.0.0.1:8081"\n'
    )
    done = check(config)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        f"{config}: ok (database postgresql+psycopg://office@/office?host=%2Frun%2Fpostgresql, "
        "broker 127.0.0.1:1883 as office, client id office-2)"
    )


def test_every_problem_is_named_with_its_key_at_once(tmp_path: Path) -> None:
    (tmp_path / "broker.password").write_text("s3cret\n")
    (tmp_path / "broker.password").chmod(0o644)
    config = tmp_path / "office.toml"
    config.write_text(
        '[database]\nurl = "mysql://office:pw@db/office"\n'
        '[mqtt]\nbroker = "broker.example.net:8883"\ntls = false\n'
        'password_file = "broker.password"\nclient_id = "office 1"\nbrokr = "x"\n'
        '[signing]\nkey = "missing.key"\n'
        '[ingest]\nbatch_max = 0\ngap_grace_s = "soon"\n[web]\nlisten = "anywhere"\n'
    )
    done = check(config)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    expected = [
        "database.url: the driver must be one of sqlite, postgresql+psycopg, got 'mysql'",
        "database.url: holds a password: put it in password_file instead",
        "mqtt.tls: false is accepted only for a broker on loopback, not 'broker.example.net'",
        "may be read by others; make it private",
        "mqtt.client_id: must be 1-64 characters",
        "mqtt.brokr: unknown key (did you mean 'broker'?)",
        "signing.kid: give both key and kid, or neither",
        "missing.key: no such file (make one with locker-fleet keygen)",
        "ingest.batch_max: must be between 1 and 10000, got 0",
        "ingest.gap_grace_s: must be a number, got 'soon'",
        "web.listen: must be HOST:PORT like 127.0.0.1:8080, got 'anywhere'",
    ]
    for text in expected:
        assert any(text in line for line in lines), (text, lines)
    assert all(line.startswith(f"locker-office: {config}: ") for line in lines)
    assert "pw" not in done.stderr.replace("password", "")


def test_a_signing_key_others_may_read_is_refused(tmp_path: Path) -> None:
    key, _public = new_key()
    (tmp_path / "ops.key").write_bytes(private_pem(key))
    (tmp_path / "ops.key").chmod(0o640)
    config = tmp_path / "office.toml"
    config.write_text(
        '[mqtt]\nbroker = "127.0.0.1:1883"\ntls = false\n'
        '[signing]\nkey = "ops.key"\nkid = "ops-2026"\n'
    )
    done = check(config)
    assert done.returncode == 2
    assert f"signing.key: {tmp_path / 'ops.key'} may be read by others" in done.stderr


def test_a_missing_config_says_how_to_name_one(tmp_path: Path) -> None:
    done = check(tmp_path / "nowhere.toml")
    assert done.returncode == 2
    assert "no such file (give --config FILE, or set LOCKER_OFFICE_CONFIG)" in done.stderr
