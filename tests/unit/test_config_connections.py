"""The config file's links to the outside: the notification back ends, the API's TCP
listener and the fleet link, and what each needs before the kiosk uses it."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config import load_config
from tests.unit.config_files import problems_of, write_config

pytestmark = pytest.mark.usefixtures("fake_drivers")


def test_notify_backends_need_their_settings(tmp_path: Path) -> None:
    webhook = write_config(
        tmp_path, '[notify]\nbackend = "webhook"\n\n[notify.webhook]\nurl = "ftp://x"'
    )
    smtp = write_config(tmp_path, '[notify]\nbackend = "smtp"', name="smtp.toml")

    assert problems_of(webhook) == [
        f"{webhook}: notify.webhook.url: must be an http:// or https:// URL when "
        "backend = 'webhook'",
        f"{webhook}: notify.webhook.secret: is required when backend = 'webhook'",
    ]
    assert problems_of(smtp) == [
        f"{smtp}: notify.smtp.host: is required when backend = 'smtp'",
        f"{smtp}: notify.smtp.from: is required when backend = 'smtp'",
    ]


def test_webhook_backend_reads_its_table(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        '[notify]\nbackend = "webhook"\n\n[notify.webhook]\n'
        'url = "https://hooks.example.com/locker"\nsecret = "s3cret"',
    )

    notify = load_config(path).notify

    assert (notify.backend, notify.webhook.url, notify.webhook.secret) == (
        "webhook",
        "https://hooks.example.com/locker",
        "s3cret",
    )


FILE_INBOX = '[notify]\nbackend = "file"\n\n[notify.file]\npath = "inbox.jsonl"'


def test_the_file_back_end_writing_codes_in_clear_is_refused_outside_demo_mode(
    tmp_path: Path,
) -> None:
    production = write_config(tmp_path, FILE_INBOX)
    demo = tmp_path / "demo.toml"
    demo.write_text("demo = true\n" + production.read_text(), encoding="utf-8")

    assert problems_of(production) == [
        f"{production}: notify.backend: 'file' writes pickup codes in plain text: it is for "
        "the demo and tests only (demo = true at the top of the file); a kiosk with customers "
        "uses 'webhook' or 'smtp'"
    ]
    assert load_config(demo).notify.backend == "file"


def test_a_tcp_listener_without_tls_or_token_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[api]\ntcp_listen = "0.0.0.0:8443"\ntls_cert = "cert.pem"\n')
    assert problems_of(path) == [
        f"{path}: api.tls_key: is required when tcp_listen is set (TLS and a token, always)",
        f"{path}: api.token_file: is required when tcp_listen is set (TLS and a token, always)",
    ]


def test_a_tcp_listener_needs_host_and_port(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[api]\ntcp_listen = "8443"\ntls_cert = "c"\n'
                        'tls_key = "k"\ntoken_file = "t"\n')  # fmt: skip
    assert problems_of(path) == [
        f"{path}: api.tcp_listen: must be HOST:PORT like '0.0.0.0:8443', got '8443'"
    ]


def test_a_fleet_link_needs_a_broker_credentials_and_pinned_keys(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[fleet]\nbroker = "broker.example.net"\n')
    assert problems_of(path) == [
        f"{path}: fleet.broker: must be HOST:PORT like 'broker.example.net:8883', "
        "got 'broker.example.net'",
        f"{path}: fleet.keyring: is required: the operator keys that remote commands are "
        "signed with",
        f"{path}: fleet.password_file: is required unless cert_file and key_file are given",
    ]


def test_a_fleet_link_without_tls_is_refused_unless_the_broker_is_on_loopback(
    tmp_path: Path,
) -> None:
    body = 'password_file = "pw"\nkeyring = "keys.toml"\ntls = false\n'
    remote = write_config(tmp_path, f'[fleet]\nbroker = "10.0.0.5:1883"\n{body}')
    assert problems_of(remote) == [
        f"{remote}: fleet.tls: may be false only for a broker on this machine's loopback"
    ]
    local = write_config(tmp_path, f'[fleet]\nbroker = "127.0.0.1:1883"\n{body}', name="l.toml")
    fleet = load_config(local).fleet
    assert fleet.enabled and fleet.host_port == ("127.0.0.1", 1883)
    assert fleet.keyring == tmp_path / "keys.toml" and fleet.remote_opens_per_hour == 10


def test_a_fleet_username_other_than_the_kiosk_id_is_refused(tmp_path: Path) -> None:
    body = 'broker = "broker.example.net:8883"\npassword_file = "pw"\nkeyring = "keys.toml"\n'
    other = write_config(tmp_path, f'[fleet]\n{body}username = "depot-7"\n', kiosk='id = "T-1"')
    assert problems_of(other) == [
        f"{other}: fleet.username: 'depot-7' is not the kiosk id 'T-1': the broker makes a "
        "kiosk's username its client id and lets it reach only the topics of the kiosk of "
        "that id (config/broker/), so leave it out"
    ]
    same = write_config(tmp_path, f'[fleet]\n{body}username = "T-1"\n', name="same.toml")
    assert load_config(same).fleet.username == "T-1"


def test_the_roles_a_kiosk_takes_from_staff_lists_are_couriers_and_technicians_or_fewer(
    tmp_path: Path,
) -> None:
    body = 'broker = "broker.example.net:8883"\npassword_file = "pw"\nkeyring = "keys.toml"\n'
    default = load_config(write_config(tmp_path, f"[fleet]\n{body}")).fleet
    assert default.staff_roles == ("courier", "technician")
    couriers = write_config(tmp_path, f'[fleet]\n{body}staff_roles = ["courier"]\n', name="c.toml")
    assert load_config(couriers).fleet.staff_roles == ("courier",)
    wrong = write_config(tmp_path, f'[fleet]\n{body}staff_roles = ["admin"]\n', name="w.toml")
    assert problems_of(wrong) == [
        f"{wrong}: fleet.staff_roles[0]: must be 'courier' or 'technician', got 'admin' (string)"
    ]


def test_no_fleet_section_means_no_link(tmp_path: Path) -> None:
    assert load_config(write_config(tmp_path)).fleet.enabled is False


def test_every_listener_has_caps_and_time_outs_fit_for_a_kiosk_by_default(tmp_path: Path) -> None:
    api = load_config(write_config(tmp_path, kiosk='id = "T-1"\nsocket = "run/api.sock"')).api
    assert api.touchscreen_socket == tmp_path / "run" / "touchscreen.sock"  # beside the socket
    assert api.touchscreen_group == "locker-ui"
    caps = (api.max_connections, api.touchscreen_max_connections, api.tcp_max_connections,
            api.tcp_max_unauthenticated_per_client)  # fmt: skip
    assert caps == (64, 8, 32, 4)
    assert (api.request_timeout_s, api.idle_timeout_s, api.tls_handshake_timeout_s) == (10, 5, 5)
    assert (api.max_header_bytes, api.max_body_bytes) == (8192, 65536)


def test_a_tls_handshake_longer_than_5_s_or_caps_out_of_range_are_refused(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        "[api]\ntls_handshake_timeout_s = 30\nmax_connections = 100000\n"
        "touchscreen_max_connections = 1\nmax_header_bytes = 1000000\nrequest_timeout_s = 0\n",
    )
    assert problems_of(path) == [
        f"{path}: api.max_connections: must be between 4 and 1024, got 100000",
        f"{path}: api.touchscreen_max_connections: must be between 2 and 32, got 1",
        f"{path}: api.tls_handshake_timeout_s: must be between 0.5 and 5, got 30",
        f"{path}: api.request_timeout_s: must be between 1 and 120, got 0",
        f"{path}: api.max_header_bytes: must be between 1024 and 65536, got 1000000",
    ]


def test_the_touchscreen_socket_must_be_a_way_in_of_its_own(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[api]\ntouchscreen_socket = "/run/locker-kiosk/api.sock"')
    assert problems_of(path) == [
        f"{path}: api.touchscreen_socket: must not be the kiosk's API socket (kiosk.socket)"
    ]


def test_the_demo_data_dir_takes_both_sockets_along(tmp_path: Path) -> None:
    moved = load_config(write_config(tmp_path)).with_data_dir(tmp_path / "demo")
    assert moved.kiosk.socket == tmp_path / "demo" / "api.sock"
    assert moved.api.touchscreen_socket == tmp_path / "demo" / "touchscreen.sock"
