"""config/office-example.toml shows every key the office reads, and is a valid config."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

from kiosk.fleet.envelope import new_key, private_pem
from office.config import IngestSection, MqttSection, WebSection, load_office_config

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "office-example.toml"


def test_the_example_names_every_key_of_every_section() -> None:
    raw = tomllib.loads(EXAMPLE.read_text())
    mqtt = {f.name for f in dataclasses.fields(MqttSection)} - {"host", "port", "password"}
    assert set(raw["mqtt"]) == mqtt | {"broker", "password_file"}
    assert set(raw["ingest"]) == {f.name for f in dataclasses.fields(IngestSection)}
    assert set(raw["database"]) == {"url", "password_file"}
    assert set(raw["signing"]) == {"key", "kid"}
    web = {f.name for f in dataclasses.fields(WebSection)} - {"trusted_proxies"}
    set_here = {"listen", "trusted_proxy"} | web - {"tls_cert", "tls_key"}
    assert set(raw["web"]) == set_here
    # TLS of its own is the alternative to a proxy: named, commented out
    assert "# tls_cert = " in EXAMPLE.read_text() and "# tls_key = " in EXAMPLE.read_text()
    assert raw["sites"] and all(isinstance(v, list) for v in raw["sites"].values())


def test_the_example_loads_once_its_files_exist(tmp_path: Path) -> None:
    key, _public = new_key()
    files = {
        "db.password": b"pw\n",
        "broker.password": b"pw\n",
        "broker-ca.pem": b"",
        "ops-2026.key": private_pem(key),
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
        (tmp_path / name).chmod(0o600)
    text = re.sub(r"/etc/locker-office/", "", EXAMPLE.read_text())
    config_file = tmp_path / "office.toml"
    config_file.write_text(text)
    config = load_office_config(config_file)
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.client_id) == (
        "broker.example.net",
        8884,
        "office-1",
    )
    assert config.database.password == "pw" and not config.is_sqlite
    assert config.load_signing_key() is not None
    assert config.web.trusted_proxies == ("127.0.0.1",)
    assert config.sites["hamburg"] == ("HAM-*", "KIOSK-7")
