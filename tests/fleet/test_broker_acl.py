"""The broker's ACL as shipped: one kiosk's credentials reach only that kiosk's topics.

Checked by delivery, not by what the broker acknowledges: a message a kiosk should not
be able to publish must not reach the operator, and a command for one kiosk must not
reach another kiosk that subscribed to it.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testkit.broker import Broker, running_broker

mqtt = pytest.importorskip("paho.mqtt.client")

USERS = {"operator": "op-secret-1", "KIOSK-1": "k1-secret-1", "KIOSK-2": "k2-secret-1"}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    with running_broker(tmp_path_factory.mktemp("broker"), USERS) as running:
        yield running


class Client:
    """A connected MQTT 5 client that collects what it receives."""

    def __init__(self, broker: Broker, user: str) -> None:
        self.got: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=user,
                                  protocol=mqtt.MQTTv5)  # fmt: skip
        self.client.username_pw_set(user, USERS[user])
        self.client.on_message = lambda c, u, m: self.got.put((m.topic, m.payload))
        self.client.connect(broker.host, broker.port_for(user))
        self.client.loop_start()

    def subscribe(self, topic: str) -> None:
        result, _mid = self.client.subscribe(topic, qos=1)
        assert result == mqtt.MQTT_ERR_SUCCESS
        time.sleep(0.2)  # the SUBACK is not what is checked; give it time to land

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def received(self, wait_s: float = 1.0) -> list[tuple[str, bytes]]:
        out, deadline = [], time.monotonic() + wait_s
        while time.monotonic() < deadline:
            try:
                out.append(self.got.get(timeout=0.05))
            except queue.Empty:
                continue
        return out

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_a_kiosk_cannot_publish_as_another_kiosk(broker: Broker) -> None:
    operator, kiosk1 = Client(broker, "operator"), Client(broker, "KIOSK-1")
    try:
        operator.subscribe("lk/v1/#")
        kiosk1.publish("lk/v1/kiosk/KIOSK-2/events", b"forged")
        kiosk1.publish("lk/v1/kiosk/KIOSK-1/events", b"own")
        kiosk1.publish("lk/v1/kiosk/KIOSK-1/commands", b"self-made command")
        assert operator.received() == [("lk/v1/kiosk/KIOSK-1/events", b"own")]
    finally:
        operator.close()
        kiosk1.close()


def test_a_kiosk_cannot_receive_another_kiosks_commands(broker: Broker) -> None:
    operator = Client(broker, "operator")
    kiosk1, kiosk2 = Client(broker, "KIOSK-1"), Client(broker, "KIOSK-2")
    try:
        kiosk1.subscribe("lk/v1/kiosk/KIOSK-2/commands")
        kiosk1.subscribe("lk/v1/kiosk/+/commands")
        kiosk2.subscribe("lk/v1/kiosk/KIOSK-2/commands")
        operator.publish("lk/v1/kiosk/KIOSK-2/commands", b"open A07")
        assert kiosk2.received() == [("lk/v1/kiosk/KIOSK-2/commands", b"open A07")]
        assert kiosk1.received(0.3) == []
    finally:
        for client in (operator, kiosk1, kiosk2):
            client.close()


def test_a_kiosk_reads_its_own_staff_list_and_no_other_kiosks(broker: Broker) -> None:
    operator = Client(broker, "operator")
    kiosk1, kiosk2 = Client(broker, "KIOSK-1"), Client(broker, "KIOSK-2")
    try:
        kiosk1.subscribe("lk/v1/kiosk/+/staff")
        kiosk2.subscribe("lk/v1/kiosk/KIOSK-2/staff")
        operator.publish("lk/v1/kiosk/KIOSK-2/staff", b"sealed for KIOSK-2")
        assert kiosk2.received() == [("lk/v1/kiosk/KIOSK-2/staff", b"sealed for KIOSK-2")]
        assert kiosk1.received(0.3) == []
    finally:
        for client in (operator, kiosk1, kiosk2):
            client.close()


def connack(broker: Broker, user: str, password: str, port: int) -> Any:
    """The broker's answer to a login of ``user`` on ``port``."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=user,
                         protocol=mqtt.MQTTv5)  # fmt: skip
    client.username_pw_set(user, password)
    codes: list[object] = []
    client.on_connect = lambda c, u, f, reason, p: codes.append(reason)
    client.connect(broker.host, port)
    client.loop_start()
    deadline = time.monotonic() + 5
    while not codes and time.monotonic() < deadline:
        time.sleep(0.05)
    client.disconnect()
    client.loop_stop()
    assert codes, "no CONNACK"
    return codes[0]


def test_a_wrong_password_gets_no_connection(broker: Broker, tmp_path: Path) -> None:
    assert connack(broker, "KIOSK-1", "wrong", broker.port).is_failure


def test_a_kiosks_credentials_do_not_log_in_where_the_operator_does(broker: Broker) -> None:
    assert not connack(broker, "KIOSK-1", USERS["KIOSK-1"], broker.port).is_failure
    assert connack(broker, "KIOSK-1", USERS["KIOSK-1"], broker.operator_port).is_failure
    assert not connack(broker, "operator", USERS["operator"], broker.operator_port).is_failure


def test_a_kiosk_cannot_send_itself_announcements_or_settings(broker: Broker) -> None:
    operator, kiosk1 = Client(broker, "operator"), Client(broker, "KIOSK-1")
    try:
        operator.subscribe("lk/v1/#")
        kiosk1.subscribe("lk/v1/kiosk/KIOSK-1/#")
        for leaf in ("announcements", "config/desired", "commands", "staff"):
            kiosk1.publish(f"lk/v1/kiosk/KIOSK-1/{leaf}", b"self-made")
        assert operator.received() == []
        assert kiosk1.received(0.3) == []
    finally:
        operator.close()
        kiosk1.close()
