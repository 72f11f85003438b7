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
from typing import Annotated

from pydantic import AfterValidator, Field

from kiosk.config.check import Problems, describe
from kiosk.config.schema import SECTION, Bool, Float, Int, OptionalFile, Str
from kiosk.domain import Role
from kiosk.fleet.net import is_loopback

STAFF_ROLES = (str(Role.COURIER), str(Role.TECHNICIAN))


def _role(value: str) -> str:
    if value not in STAFF_ROLES:
        choices = " or ".join(map(repr, STAFF_ROLES))
        raise ValueError(f"must be {choices}, got {describe(value)}")
    return value


StaffRole = Annotated[Str, AfterValidator(_role)]


@dataclass(frozen=True)
class FleetSection:
    """The link to the operator's MQTT network (docs/fleet.md). Leave the table out and
    the daemon makes no connection. The kiosk id is the MQTT client id and, by default,
    the broker user name. Remote commands are acted on only when signed by a key in the
    keyring file (lines from `locker-fleet keygen`, under [keys])."""

    __pydantic_config__ = SECTION

    broker: Annotated[
        Str,
        Field(
            description="required: HOST:PORT",
            json_schema_extra={"examples": ["broker.example.net:8883"]},
        ),
    ] = ""
    username: Annotated[Str, Field(description="only the kiosk id, the default")] = ""
    password_file: Annotated[
        OptionalFile,
        Field(
            description="or cert_file + key_file",
            json_schema_extra={"examples": ["/etc/locker-kiosk/fleet.password"]},
        ),
    ] = None
    ca_file: Annotated[
        OptionalFile,
        Field(
            description="the broker's CA; default: the system's",
            json_schema_extra={"examples": ["/etc/locker-kiosk/fleet-ca.pem"]},
        ),
    ] = None
    cert_file: Annotated[OptionalFile, Field(description="a client certificate (PEM) ...")] = None
    key_file: Annotated[OptionalFile, Field(description="... and its key")] = None
    tls: Annotated[Bool, Field(description="false only for a broker on loopback")] = True
    keyring: Annotated[
        OptionalFile,
        Field(
            description="required: the operator's public keys",
            json_schema_extra={"examples": ["/etc/locker-kiosk/fleet-keys.toml"]},
        ),
    ] = None
    keepalive_s: Annotated[Int, Field(ge=5, le=3600, description="MQTT keep-alive")] = 30
    remote_opens_per_hour: Annotated[
        Int, Field(ge=0, le=1000, description="remote door opens allowed an hour")
    ] = 10
    health_interval_s: Annotated[
        Float, Field(ge=1, le=86400, description="health telemetry every so often")
    ] = 60.0
    reconnect_min_s: Annotated[
        Float, Field(ge=0.1, le=600, description="backoff with full jitter, from ...")
    ] = 1.0
    reconnect_max_s: Annotated[Float, Field(ge=1, le=3600, description="... to at most this")] = (
        120.0
    )
    session_expiry_s: Annotated[
        Int, Field(ge=0, le=2**32 - 1, description="the broker keeps the session this long")
    ] = 7 * 24 * 3600
    max_held_share: Annotated[
        Float,
        Field(
            ge=0,
            le=1,
            description="reservations hold at most this share of all compartments at once",
        ),
    ] = 0.5
    # kiosk/access/staff_sync.py
    staff_sync_wait_s: Annotated[
        Float,
        Field(
            ge=0,
            le=60,
            description="after a reconnect, a sign-in of the operator's staff waits this long at "
            "most for the latest staff list",
        ),
    ] = 5.0
    # a technician opens every door, so a network whose technicians are all local takes
    # couriers alone from afar
    staff_roles: Annotated[
        tuple[StaffRole, ...],
        Field(
            description='the roles the operator\'s staff lists may bring; ["courier"] keeps '
            "every technician local (docs/security.md)"
        ),
    ] = STAFF_ROLES

    @property
    def enabled(self) -> bool:
        return bool(self.broker)

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.broker.rpartition(":")
        return host.strip("[]"), int(port)


def check_fleet(section: FleetSection, kiosk_id: str, problems: Problems) -> None:
    """What a ``[fleet]`` table that is there must give, and agree on."""
    broker = section.broker
    host, _, port = broker.rpartition(":")
    if not broker:
        problems.add("fleet.broker", "missing (required)")
    elif not host or not port.isdigit() or not 0 < int(port) < 65536:
        message = f"must be HOST:PORT like 'broker.example.net:8883', got {broker!r}"
        problems.add("fleet.broker", message)
    elif not section.tls and not is_loopback(host.strip("[]")):
        problems.add("fleet.tls", "may be false only for a broker on this machine's loopback")
    if section.keyring is None:
        message = "is required: the operator keys that remote commands are signed with"
        problems.add("fleet.keyring", message)
    if (section.cert_file is None) != (section.key_file is None):
        message = "cert_file and key_file go together (a client certificate)"
        problems.add("fleet.cert_file", message)
    if section.password_file is None and section.cert_file is None:
        message = "is required unless cert_file and key_file are given"
        problems.add("fleet.password_file", message)
    if section.username and kiosk_id and section.username != kiosk_id:
        problems.add(
            "fleet.username",
            f"{section.username!r} is not the kiosk id {kiosk_id!r}: the broker makes a "
            "kiosk's username its client id and lets it reach only the topics of the kiosk "
            "of that id (config/broker/), so leave it out",
        )
    if section.reconnect_max_s < section.reconnect_min_s:
        problems.add("fleet.reconnect_max_s", "must not be below reconnect_min_s")
