"""The ``[fleet]`` section: the kiosk's link to its operator's MQTT broker.

Without the section the daemon makes no connection at all. With it, the config must
name a broker, a way to prove who the kiosk is (a password file, or a client
certificate and key), and the keyring of operator keys that remote commands must be
signed with. TLS is on unless ``tls = false``, which is accepted only for a broker on
the kiosk's own loopback (a test, or a local bridge that does the TLS itself).

``username`` may only be the kiosk id, its default: the broker makes a kiosk's username
its client id and gives it the topics of the kiosk of that id alone (docs/fleet.md, "The
broker"), so under any other name the link would connect and reach nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kiosk.config.check import Table, describe
from kiosk.domain import Role
from kiosk.fleet.net import is_loopback

STAFF_ROLES = (str(Role.COURIER), str(Role.TECHNICIAN))


@dataclass(frozen=True)
class FleetSection:
    broker: str = ""  # "host:port"; empty: no link
    username: str = ""  # "" or the kiosk id: the broker's name for the kiosk
    password_file: Path | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    tls: bool = True
    keyring: Path | None = None
    keepalive_s: int = 30
    remote_opens_per_hour: int = 10
    health_interval_s: float = 60.0
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 120.0
    session_expiry_s: int = 7 * 24 * 3600
    max_held_share: float = 0.5  # of all compartments, at most this many held at once
    # After the link connects, a sign-in of the operator's staff waits at most this long
    # for the broker's retained staff list (kiosk/access/staff_sync.py).
    staff_sync_wait_s: float = 5.0
    # The roles the operator's staff lists may bring: a technician opens every door, so
    # a network whose technicians are all local takes couriers alone from afar.
    staff_roles: tuple[str, ...] = STAFF_ROLES

    @property
    def enabled(self) -> bool:
        return bool(self.broker)

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.broker.rpartition(":")
        return host.strip("[]"), int(port)


def read_fleet(t: Table, base: Path, kiosk_id: str) -> FleetSection:
    if not t.data:
        t.check_unknown()
        return FleetSection()
    broker = t.get_str("broker")
    files: dict[str, Path | None] = {}
    for name in ("password_file", "ca_file", "cert_file", "key_file", "keyring"):
        text = t.get_str(name, "")
        files[name] = base / text if text else None
    section = FleetSection(
        broker=broker,
        username=t.get_str("username", ""),
        tls=t.get_bool("tls", True),
        keepalive_s=t.get_int("keepalive_s", 30, minimum=5, maximum=3600),
        remote_opens_per_hour=t.get_int("remote_opens_per_hour", 10, minimum=0, maximum=1000),
        health_interval_s=t.get_float("health_interval_s", 60.0, minimum=1, maximum=86400),
        reconnect_min_s=t.get_float("reconnect_min_s", 1.0, minimum=0.1, maximum=600),
        reconnect_max_s=t.get_float("reconnect_max_s", 120.0, minimum=1, maximum=3600),
        session_expiry_s=t.get_int("session_expiry_s", 7 * 24 * 3600, minimum=0, maximum=2**32 - 1),
        max_held_share=t.get_float("max_held_share", 0.5, minimum=0, maximum=1),
        staff_sync_wait_s=t.get_float("staff_sync_wait_s", 5.0, minimum=0, maximum=60),
        staff_roles=t.get_list("staff_roles", STAFF_ROLES, lambda key, v: _role(t, key, v)),
        **files,
    )
    host, _, port = broker.rpartition(":")
    if broker and (not host or not port.isdigit() or not 0 < int(port) < 65536):
        t.problem("broker", f"must be HOST:PORT like 'broker.example.net:8883', got {broker!r}")
    elif broker and not section.tls and not is_loopback(host.strip("[]")):
        t.problem("tls", "may be false only for a broker on this machine's loopback")
    if section.keyring is None:
        t.problem("keyring", "is required: the operator keys that remote commands are signed with")
    if (section.cert_file is None) != (section.key_file is None):
        t.problem("cert_file", "cert_file and key_file go together (a client certificate)")
    if section.password_file is None and section.cert_file is None:
        t.problem("password_file", "is required unless cert_file and key_file are given")
    if section.username and kiosk_id and section.username != kiosk_id:
        t.problem(
            "username",
            f"{section.username!r} is not the kiosk id {kiosk_id!r}: the broker makes a "
            "kiosk's username its client id and lets it reach only the topics of the kiosk "
            "of that id (config/broker/), so leave it out",
        )
    if section.reconnect_max_s < section.reconnect_min_s:
        t.problem("reconnect_max_s", "must not be below reconnect_min_s")
    t.check_unknown()
    return section


def _role(t: Table, key: str, value: object) -> str | None:
    if value in STAFF_ROLES:
        return str(value)
    t.problems.add(key, f"must be {' or '.join(map(repr, STAFF_ROLES))}, got {describe(value)}")
    return None
