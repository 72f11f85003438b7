"""The office's session with the broker: shared subscriptions, acknowledged after commit.

One paho-mqtt 2 client (MQTT 5) per ``serve`` process, with a client id of its own
that it keeps across restarts (``mqtt.client_id``): a persistent session
(``clean_start`` false, ``session_expiry_s``) in which the broker keeps what arrives
while the process is away. It subscribes at QoS 1 to the kiosks' topics through the
shared subscription ``$share/<share_group>/...``, so the broker hands each message to
one process of the group. paho's ``manual_ack`` is on: a message is acknowledged by
:meth:`BrokerLink.ack`, which the ingest calls only after the message's transaction
committed. A message not acknowledged when the connection drops is sent again by the
broker on the next connection, in the same session.

Packet ids are per connection: an acknowledgement meant for a message of an earlier
connection must never go out on a new one (the id may by then name another message,
which would be lost). Each connection has a generation; :meth:`ack` sends only the
acknowledgements of the current one, under the lock the connection callbacks take.

Retained presence and compartment state are not sent to shared subscriptions; at its
first connection the link reads them once with a plain subscription of a second,
short-lived client (:meth:`seed`).
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from kiosk.fleet.messages import ROOT
from kiosk.fleet.net import no_delay
from office.config import MqttSection

log = logging.getLogger("office.link")

LEAVES = ("events", "presence", "state/compartments", "health", "results", "config/reported")
RETAINED = ("presence", "state/compartments", "config/reported")
SEED_QUIET_S = 0.5
READ_AT_ONCE = 1000
SEED_MAX_S = 10.0


@dataclass(frozen=True)
class Incoming:
    """One message as received; ``generation`` names the connection it came on."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int
    received_at: float


class _Client(mqtt.Client):
    """paho's client, reading every packet already waiting in one turn of its loop.

    paho's ``loop_read`` reads one packet per ``select()`` when it has nothing of its own
    in flight, as for a subscriber that acknowledges by hand: under load that is a full
    loop turn per message. This reads on until the socket has nothing more (its
    non-blocking ``recv`` says so), at most :data:`READ_AT_ONCE` packets, through
    paho's own ``_packet_read``; a paho without it reads as before. It cost a third of
    the CPU per message (docs/performance.md, "The back office").
    """

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        read = getattr(self, "_packet_read", None)
        if read is None or self._sock is None:
            return super().loop_read(max_packets)
        for _ in range(READ_AT_ONCE):
            if self._sock is None:
                return MQTTErrorCode.MQTT_ERR_NO_CONN
            rc = read()
            if rc == MQTTErrorCode.MQTT_ERR_AGAIN:
                break
            if rc > 0:
                return self._loop_rc_handle(rc)
        return MQTTErrorCode.MQTT_ERR_SUCCESS


def shared_topics(group: str) -> list[str]:
    return [f"$share/{group}/{ROOT}/+/{leaf}" for leaf in LEAVES]


class BrokerLink:
    def __init__(self, cfg: MqttSection, inbox: queue.Queue[Incoming]) -> None:
        self.cfg = cfg
        self.inbox = inbox
        self.generation = 0
        self.connected = threading.Event()
        self.last_error: str | None = None
        self.acked = 0
        self._lock = threading.Lock()
        self._client = self._make_client(cfg.client_id, manual_ack=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message

    def _make_client(self, client_id: str, manual_ack: bool) -> mqtt.Client:
        client = _Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=manual_ack,
        )
        if self.cfg.password is not None:
            client.username_pw_set(self.cfg.username, self.cfg.password)
        if self.cfg.tls:
            client.tls_set(ca_certs=str(self.cfg.ca_file) if self.cfg.ca_file else None)
        client.on_socket_open = no_delay
        client.reconnect_delay_set(1, 30)
        return client

    # -- life -----------------------------------------------------------------------------

    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.cfg.session_expiry_s
        props.ReceiveMaximum = self.cfg.receive_maximum
        self._client.connect_async(
            self.cfg.host,
            self.cfg.port,
            keepalive=self.cfg.keepalive_s,
            clean_start=False,
            properties=props,
        )
        self._client.loop_start()

    def stop(self) -> None:
        """Disconnect normally: the broker keeps the session (and what is not acknowledged)."""
        with self._lock:
            self.generation += 1  # nothing more is acknowledged on this connection
        self._client.disconnect()
        self._client.loop_stop()

    # -- paho's thread ----------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            self.last_error = f"the broker refused the connection: {reason}"
            log.error("%s", self.last_error)
            return
        with self._lock:
            self.generation += 1
        options = SubscribeOptions(qos=1)
        client.subscribe([(topic, options) for topic in shared_topics(self.cfg.share_group)])
        self.last_error = None
        self.connected.set()
        log.info(
            "connected to %s:%s as %s (session %s)",
            self.cfg.host,
            self.cfg.port,
            self.cfg.client_id,
            "resumed" if flags.session_present else "new",
        )

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        with self._lock:
            self.generation += 1
        if self.connected.is_set():
            self.last_error = f"connection lost: {reason}"
            log.warning("broker %s:%s: %s", self.cfg.host, self.cfg.port, self.last_error)
        self.connected.clear()

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        # Blocks when the ingest is behind: paho then stops reading and the broker holds
        # the rest (it sends no more than receive_maximum unacknowledged messages anyway).
        self.inbox.put(
            Incoming(msg.topic, bytes(msg.payload), msg.mid, msg.qos, self.generation, time.time())
        )

    # -- from the ingest and the sweeper --------------------------------------------------

    def ack(self, items: Sequence[Incoming]) -> int:
        """Acknowledge, in order, the messages of the current connection; how many."""
        sent = 0
        with self._lock:
            for item in items:
                if item.qos > 0 and item.generation == self.generation:
                    self._client.ack(item.mid, item.qos)
                    sent += 1
        self.acked += sent
        return sent

    def publish(
        self, topic: str, payload: bytes, timeout_s: float = 10.0, retain: bool = False
    ) -> bool:
        """Publish at QoS 1 (``retain``: kept for who subscribes later, a kiosk's staff
        list); True once the broker acknowledged it."""
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return False
        try:
            info.wait_for_publish(timeout_s)
        except (RuntimeError, ValueError):
            return False
        return info.is_published()

    def seed(self) -> int:
        """Read what the broker retains for every kiosk, once, into the inbox; how many."""
        seeder = self._make_client(f"{self.cfg.client_id}-seed-{secrets.token_hex(4)}", False)
        got: list[float] = []
        subscribed = threading.Event()

        def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
            if msg.retain:
                got.append(time.monotonic())
                self.inbox.put(Incoming(msg.topic, bytes(msg.payload), 0, 0, -1, time.time()))

        seeder.on_message = on_message
        seeder.on_subscribe = lambda *_a: subscribed.set()
        seeder.on_connect = lambda c, *_a: c.subscribe(
            [(f"{ROOT}/+/{leaf}", 1) for leaf in RETAINED]
        )
        try:
            seeder.connect(self.cfg.host, self.cfg.port, keepalive=self.cfg.keepalive_s)
        except OSError as exc:
            log.warning("could not read the retained state: %s", exc)
            return 0
        seeder.loop_start()
        start = time.monotonic()
        subscribed.wait(SEED_MAX_S)
        while time.monotonic() - start < SEED_MAX_S:
            last = got[-1] if got else start
            if time.monotonic() - last > SEED_QUIET_S:
                break
            time.sleep(0.05)
        seeder.disconnect()
        seeder.loop_stop()
        return len(got)
