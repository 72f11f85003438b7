"""The network's adversaries against a real kiosk: another kiosk's stolen credentials.

A real daemon on the simulator, a real Mosquitto run from the shipped config.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from tests.fleet.conftest import USERS, Operator, linked_kiosk, operator
from tests.support.broker import Broker, running_broker
from tests.support.daemon import Daemon
from tests.support.mqtt_peer import Peer

KIOSK = "KIOSK-1"
TOPIC = f"lk/v1/kiosk/{KIOSK}"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with running_broker(tmp_path / "broker", USERS, persistence=True) as running:
        yield running


@pytest.fixture
def linked(
    broker: Broker, operator_key: Any, tmp_path: Path
) -> Iterator[tuple[Operator, Daemon, Peer]]:
    """The operator (listening to everything of the kiosk's), the kiosk, the intruder."""
    key, keyring = operator_key
    with (
        operator(broker, key, keyring, f"{TOPIC}/#") as op,
        linked_kiosk(broker, KIOSK, keyring, tmp_path) as daemon,
    ):
        wait_connected(daemon)
        op.peer.wait_for(lambda: online(op), what="the kiosk online")
        intruder = Peer(broker, "operator", USERS["operator"])
        try:
            yield op, daemon, intruder
        finally:
            intruder.close()


def wait_connected(daemon: Daemon) -> None:
    daemon.wait_for(lambda: daemon.client().get("/v1/status")["fleet"]["state"] == "connected",
                    what="the link")  # fmt: skip


def online(op: Operator) -> bool:
    bodies = op.peer.bodies("presence")
    return bool(bodies) and bodies[-1]["status"] == "online"


def test_another_kiosks_credentials_cannot_knock_a_kiosk_off_the_broker(
    linked: Any, broker: Broker
) -> None:
    op, daemon, _intruder = linked
    since = daemon.client().get("/v1/status")["fleet"]["since"]
    seen_before = len(op.peer.bodies("presence"))
    for _ in range(5):  # KIOSK-2's password, and KIOSK-1's client id
        thief = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=KIOSK,
                            protocol=mqtt.MQTTv5)  # fmt: skip
        thief.username_pw_set("KIOSK-2", USERS["KIOSK-2"])
        connected: list[Any] = []
        thief.on_connect = lambda _c, _u, _f, reason, _p, got=connected: got.append(reason)
        thief.connect(broker.host, broker.port)
        thief.loop_start()
        op.peer.wait_for(lambda got=connected: got, what="the thief's CONNACK")
        assert not connected[0].is_failure, "the broker lets it in, as KIOSK-2"
        time.sleep(0.3)  # a takeover would show within this: the kiosk's link drops
        thief.disconnect()
        thief.loop_stop()
    fleet = daemon.client().get("/v1/status")["fleet"]
    assert (fleet["state"], fleet["since"]) == ("connected", since), "never dropped"
    assert "fleet_link_down" not in [e["kind"] for e in daemon.events()]
    statuses = [b["status"] for b in op.peer.bodies("presence")[seen_before:]]
    assert "offline" not in statuses, "no false offline"
