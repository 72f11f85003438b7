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


def test_a_console_facing_a_network_needs_tls_or_a_proxy_and_sites_are_checked(
    tmp_path: Path,
) -> None:
    (tmp_path / "console.key").write_text("key\n")
    (tmp_path / "console.key").chmod(0o644)
    config = tmp_path / "office.toml"
    config.write_text(
        '[mqtt]\nbroker = "127.0.0.1:1883"\ntls = false\n'
        '[web]\nlisten = "0.0.0.0:8443"\ntls_key = "console.key"\n'
        'trusted_proxy = ["proxy.example.net"]\nsession_idle_min = 0\n'
        '[sites]\n"bad site" = ["K-*"]\nberlin = "BER-*"\nhamburg = ["HAM-*"]\n'
    )
    done = check(config)
    assert done.returncode == 2
    problems = [
        line.removeprefix(f"locker-office: {config}: ") for line in done.stderr.splitlines()
    ]
    assert problems == [
        "web.tls_cert: give both tls_cert and tls_key, or neither",
        f"web.tls_key: {tmp_path / 'console.key'} may be read by others; make it private "
        f"(chmod 600 {tmp_path / 'console.key'})",
        "web.trusted_proxy: 'proxy.example.net' is not an IP address",
        "web.session_idle_min: must be between 1 and 1440, got 0",
        "web.listen: 0.0.0.0 faces a network: give tls_cert and tls_key, or put a TLS "
        "reverse proxy in front and name it in trusted_proxy",
        "sites.bad site: a site's name is 1-64 characters of A-Z, a-z, 0-9, '_', '.', '-'",
        "sites.berlin: must be a list of kiosk ids or patterns with * and ?",
    ]


def test_serve_refuses_to_listen_on_a_network_without_tls(tmp_path: Path) -> None:
    config = tmp_path / "office.toml"
    config.write_text('[mqtt]\nbroker = "127.0.0.1:1883"\ntls = false\n')
    done = subprocess.run(
        [sys.executable, "-m", "office", "--config", str(config), "serve",
         "--listen", "0.0.0.0:8080"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--listen 0.0.0.0:8080 faces a network" in done.stderr
