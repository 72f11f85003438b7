"""Commands the office sends to kiosks: built and signed by the fleet contract.

Every message is built and signed by ``kiosk.fleet.messages`` (the one place
``locker-fleet`` sends through too), never here, so a change to the contract's messages
or their signing reaches the office as well.
The signing key lives in a private file named by the config (``[signing]``), never in
the database. Each command is recorded (who asked, why) before it is published; the
kiosk's answer is filled in by the ingest when its ``results`` message arrives.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from sqlalchemy.engine import Engine

from kiosk.fleet.messages import Outgoing, Signer, resend_events
from kiosk.fleet.net import no_delay
from kiosk.fleet.payloads import Body
from office.config import MqttSection
from office.store import commands

log = logging.getLogger("office.commands")


class Publisher(Protocol):
    def publish(
        self, topic: str, payload: bytes, timeout_s: float = 10.0, retain: bool = False
    ) -> bool: ...


class CommandSender:
    def __init__(self, engine: Engine, link: Publisher, signer: Signer) -> None:
        self.engine = engine
        self.link = link
        self.signer = signer

    def resend_events(self, kiosk: str, from_seq: int, asked_by: str, why: str) -> Outgoing:
        """Ask ``kiosk`` to send its event log again from ``from_seq``."""
        return self.send(resend_events(self.signer, kiosk, from_seq), asked_by, why)

    def send(
        self,
        out: Outgoing,
        asked_by: str,
        why: str | None = None,
        shown_args: dict[str, object] | None = None,
    ) -> Outgoing:
        """Record ``out`` (who asked, why), then publish it; ``published_at`` says if it went.
        ``shown_args``: what the record keeps of its arguments, where that must be less
        than what was signed (a recipient's contact, masked)."""
        body: Body = out.body if shown_args is None else {**out.body, "args": shown_args}
        with self.engine.begin() as conn:
            commands.record(conn, body, asked_by, why)
        if self.link.publish(out.topic, out.payload):
            with self.engine.begin() as conn:
                commands.published(conn, out.id, time.time())
        else:
            log.warning("%s to %s not published: the broker is not reachable", out.name, out.kiosk)
        return out

    def was_published(self, command_id: str) -> bool:
        with self.engine.connect() as conn:
            found = commands.answer(conn, command_id)
        return found is not None and found["published_at"] is not None


class OneShotPublisher:
    """A connection of its own to the operator's listener, for a command line that
    publishes a few messages and ends (``locker-office staff``): a clean session and a
    client id of its own, so it takes nothing of a ``serve`` process's session."""

    def __init__(self, cfg: MqttSection, timeout_s: float = 10.0) -> None:
        self.cfg = cfg
        self.connected = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"{cfg.client_id}-cli-{secrets.token_hex(4)}",
            protocol=mqtt.MQTTv5,
        )
        if cfg.password is not None:
            self.client.username_pw_set(cfg.username, cfg.password)
        if cfg.tls:
            self.client.tls_set(ca_certs=str(cfg.ca_file) if cfg.ca_file else None)
        self.client.on_socket_open = no_delay
        self.client.on_connect = self._on_connect
        try:
            self.client.connect(cfg.host, cfg.port, keepalive=cfg.keepalive_s)
        except OSError as exc:
            log.warning("cannot reach the broker %s:%s: %s", cfg.host, cfg.port, exc)
            return
        self.client.loop_start()
        self.connected.wait(timeout_s)

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("the broker refused the connection: %s", reason)
        else:
            self.connected.set()

    def publish(
        self, topic: str, payload: bytes, timeout_s: float = 10.0, retain: bool = False
    ) -> bool:
        """Publish at QoS 1; True once the broker acknowledged it."""
        if not self.connected.is_set():
            return False
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        try:
            info.wait_for_publish(timeout_s)
        except (RuntimeError, ValueError):
            return False
        return info.is_published()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
