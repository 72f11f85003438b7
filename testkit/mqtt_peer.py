"""An MQTT 5 client for tests: the operator's side of a kiosk's link, or another kiosk."""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from testkit.broker import Broker


class Peer:
    """Connected with paho's own reconnect; keeps every message it receives, in order."""

    def __init__(self, broker: Broker, user: str, password: str, persistent: bool = False) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self._new: queue.Queue[None] = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=f"{user}-test-{time.monotonic_ns()}",
                                  protocol=mqtt.MQTTv5)  # fmt: skip
        self.client.username_pw_set(user, password)
        self.client.on_message = self._got
        self.client.reconnect_delay_set(0.1, 0.5)
        props = None
        if persistent:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 3600
        self.client.connect(broker.host, broker.port_for(user), clean_start=not persistent,
                            properties=props)  # fmt: skip
        self.client.loop_start()

    def _got(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))
        self._new.put(None)

    def subscribe(self, topic: str) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *args: done.set()
        self.client.subscribe(topic, qos=1)
        assert done.wait(5), "no SUBACK"

    def publish(self, topic: str, payload: bytes | str, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def bodies(self, leaf: str) -> list[dict[str, Any]]:
        with self._lock:
            got = list(self.messages)
        return [json.loads(p) for t, p, _r in got if t.endswith("/" + leaf) and p]

    def wait_for(self, check: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what or check}")
            with contextlib.suppress(queue.Empty):
                self._new.get(timeout=min(left, 0.2))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
