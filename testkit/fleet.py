"""A real Mosquitto, operator keys and kiosks linked to it, for the fleet journeys."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.fleet.envelope import private_pem, sign
from kiosk.fleet.messages import Outgoing, Signer
from testkit.broker import Broker
from testkit.daemon import Daemon, running_daemon
from testkit.mqtt_peer import Peer

USERS = {
    "operator": "op-secret-1",
    "KIOSK-1": "k1-secret-1",
    "KIOSK-2": "k2-secret-1",
    "KIOSK-3": "k3-secret-1",
}
KID = "ops-test"


@dataclass
class Operator:
    """The operator's side in a test: a signing key and a connection to the broker."""

    key: Ed25519PrivateKey
    keyring: Path
    peer: Peer

    @property
    def signer(self) -> Signer:
        return Signer(self.key, KID)

    def command(self, kiosk: str, name: str, **kw: Any) -> bytes:
        args = kw.pop("args", {})
        return sign(self.key, KID, kiosk, name, args, **kw)

    def send(self, kiosk: str, envelope: bytes) -> None:
        self.peer.publish(f"lk/v1/kiosk/{kiosk}/commands", envelope)

    def publish(self, message: Outgoing) -> None:
        """A message built by kiosk.fleet.messages, on its topic, as the operator sends it."""
        self.peer.publish(message.topic, message.payload, retain=message.retain)

    def ask(self, message: Outgoing, timeout: float = 10.0) -> dict[str, Any]:
        """:meth:`publish`, and the kiosk's answer to it."""
        self.publish(message)
        return self.result(message.id, timeout)

    def result(self, command_id: str | None, timeout: float = 10.0) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            hits = [r for r in self.peer.bodies("results") if r.get("id") == command_id]
            return hits[-1] if hits else None

        result: dict[str, Any] = self.peer.wait_for(found, timeout, f"result of {command_id}")
        return result

    def results(self, command_id: str | None) -> list[dict[str, Any]]:
        return [r for r in self.peer.bodies("results") if r.get("id") == command_id]


def write_keyring(folder: Path, public: str, kid: str = KID) -> Path:
    path = folder / "fleet-keys.toml"
    path.write_text(f'[keys]\n{kid} = "{public}"\n')
    return path


def fleet_section(broker: Broker, kiosk: str, keyring: Path, folder: Path, **more: Any) -> dict:
    password = folder / f"{kiosk}.password"
    password.write_text(USERS[kiosk] + "\n")
    password.chmod(0o600)
    return {
        "broker": f"{broker.host}:{broker.port}",
        "tls": False,
        "password_file": str(password),
        "keyring": str(keyring),
        "health_interval_s": 1.0,
        "reconnect_min_s": 0.2,
        "reconnect_max_s": 1.0,
        **more,
    }


@contextmanager
def linked_kiosk(
    broker: Broker,
    kiosk: str,
    keyring: Path,
    folder: Path,
    more: dict[str, dict[str, Any]] | None = None,
    sizes: list[str] | None = None,
    **fleet: Any,
) -> Iterator[Daemon]:
    """A kiosk daemon on the simulator, linked to ``broker``; ``more`` config sections."""
    sections = {
        "kiosk": {"id": kiosk},
        "fleet": fleet_section(broker, kiosk, keyring, folder, **fleet),
        **(more or {}),
    }
    with running_daemon(sections=sections, **({"sizes": sizes} if sizes else {})) as daemon:
        yield daemon


@contextmanager
def operator(
    broker: Broker, key: Ed25519PrivateKey, keyring: Path, topic: str
) -> Iterator[Operator]:
    peer = Peer(broker, "operator", USERS["operator"], persistent=True)
    try:
        peer.subscribe(topic)
        yield Operator(key, keyring, peer)
    finally:
        peer.close()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def operator_config(folder: Path, broker: Broker, key: Any) -> Path:
    """A locker-fleet config file for the operator, signing with ``key``."""
    (folder / "op.key").write_bytes(private_pem(key))
    (folder / "op.key").chmod(0o600)
    (folder / "op.password").write_text(USERS["operator"])
    path = folder / "locker-fleet.toml"
    path.write_text(
        f'broker = "{broker.host}:{broker.operator_port}"\ntls = false\n'
        'password_file = "op.password"\n'
        f'signing_key = "op.key"\nkid = "{KID}"\nsettle_s = 1.0\ntimeout_s = 10\n'
    )
    return path
