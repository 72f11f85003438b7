"""The kiosk's link to its operator's MQTT broker (paho-mqtt 2, MQTT 5).

One network thread owns the connection: it connects (TLS, a password or a client
certificate, the kiosk id as client id, a persistent session), runs paho's loop, and
after a loss waits a random delay (from nothing up to a ceiling that doubles with each
failure) before it tries again, so that a thousand kiosks do not all come back in step
after a broker restart. Every callback
hands its work to the daemon's event loop with ``call_soon_threadsafe``; the store is
only ever touched on the loop.

What goes out, on the loop:

- **events**: the kiosk's event log is the outbox. The link sends every event above the
  acknowledged cursor, in ``seq`` order, QoS 1, with at most :data:`WINDOW` in flight.
  The cursor moves only on the broker's PUBACK, over a gap-free run of sequence numbers,
  and is written to the store at most once a second: after a crash the kiosk sends a
  few events again (each carries its idempotency key), never fewer.
- **presence** (retained; the last will says offline), **state/compartments**
  (retained, when it changed), **health** (every ``health_interval_s``),
  **config/reported** and **results**.

What comes in (commands, announcements, desired config, staff lists) goes to
:class:`~kiosk.fleet.commands.Commands`, which lets nothing act that is not signed by the
operator (:mod:`kiosk.fleet.gate`). The link tells the kiosk's
:class:`~kiosk.access.staff_sync.StaffSync` when it connects and when it goes down, so that a
sign-in right after a reconnect waits for the retained staff list. A failure of the
link is an event and a status line, never a crash: every local journey works without
it.

The client id is the kiosk id, which is also its broker username (or its certificate's
CN): the shipped broker config gives every kiosk connection its username as client id
(``use_username_as_clientid``), so the persistent session the link resumes is the one
the broker keeps for it, and no other kiosk's credentials can take that id over.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import threading
import time
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from kiosk.config.fleet import FleetSection
from kiosk.fleet import report
from kiosk.fleet.commands import Commands
from kiosk.fleet.net import no_delay
from kiosk.fleet.payloads import CompartmentsState, Report, Result
from kiosk.protocol.events import EventKind, Severity
from kiosk.store import Event
from kiosk.store.fleet import ACKED_SEQ

if TYPE_CHECKING:
    from kiosk.core import Kiosk

log = logging.getLogger("kiosk.fleet")

WINDOW = 64
"""Events in flight (sent, not yet acknowledged) at most."""
STATE_CHECK_S = 1.0
STATE_REFRESH_S = 60.0
"""The summary is rebuilt after an event (every change to doors, boards and compartments
logs one), at most every ``STATE_CHECK_S``, and at least every ``STATE_REFRESH_S`` (the
alarm count's 24-hour window moves with time alone)."""
PERSIST_S = 1.0


class FleetLink:
    def __init__(self, kiosk: Kiosk, commands: Commands, password: str | None = None) -> None:
        self.kiosk = kiosk
        self.store = kiosk.store
        self.commands = commands
        self.cfg: FleetSection = kiosk.config.fleet
        self.kiosk_id = kiosk.config.kiosk.id
        self.password = password
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._halt = threading.Event()
        self._stopping = threading.Event()  # a clean stop: the end of the connection is no news
        self._client: mqtt.Client | None = None  # the connected client, on the loop
        self._connack = threading.Event()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._inflight: dict[int, int] = {}  # mid -> seq
        self._acked_early: set[int] = set()
        self.acked_seq = self.store.meta_int(ACKED_SEQ)
        self._persisted_seq = self.acked_seq
        self._sent_upto = self.acked_seq
        self._last_state: CompartmentsState | None = None
        self._state_stale = True
        self._state = "connecting"
        self._since = time.time()
        self._last_error: str | None = None
        self._reported_down = False
        self.sent = 0
        commands.on_resend = self.resend_from

    # -- status ---------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return {
            "enabled": True,
            "state": self._state,
            "broker": self.cfg.broker,
            "since": self._since,
            "last_error": self._last_error,
            "acked_seq": self.acked_seq,
            "unacked": max(0, self.store.last_event_seq() - self.acked_seq),
            "staff": {**self.kiosk.staff_sync.view(), "version": self.store.staff_version()},
        }

    # -- start and stop -------------------------------------------------------------

    def start(self) -> None:
        loop = self._loop = asyncio.get_running_loop()
        self.store.listeners.append(self._on_event)
        self._thread = threading.Thread(target=self._run, name="fleet-link", daemon=True)
        self._thread.start()
        for name, coro in (
            ("fleet-events", self._pump()),
            ("fleet-state", self._state_loop()),
            ("fleet-health", self._health_loop()),
            ("fleet-cursor", self._persist_loop()),
        ):
            self._tasks.append(loop.create_task(coro, name=name))

    async def stop(self) -> None:
        """Say offline (a clean stop sends no last will), then close the connection."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._persist()
        client = self._client
        loop = asyncio.get_running_loop()
        self._stopping.set()
        if client is not None:
            with contextlib.suppress(Exception):
                info = self._publish(
                    client, "presence", report.presence(self.kiosk, False), qos=1, retain=True
                )
                await loop.run_in_executor(None, info.wait_for_publish, 2.0)
            with contextlib.suppress(Exception):
                client.disconnect()
        self._halt.set()
        if self._thread is not None:
            await loop.run_in_executor(None, self._thread.join, 5.0)
        with contextlib.suppress(ValueError):
            self.store.listeners.remove(self._on_event)

    # -- the network thread ---------------------------------------------------------

    def _run(self) -> None:
        delay = self.cfg.reconnect_min_s
        while not self._halt.is_set():
            client = self._new_client()
            self._connack.clear()
            try:
                props = Properties(PacketTypes.CONNECT)
                props.SessionExpiryInterval = self.cfg.session_expiry_s
                host, port = self.cfg.host_port
                client.connect(
                    host, port, keepalive=self.cfg.keepalive_s, clean_start=False, properties=props
                )
            except (OSError, ValueError) as exc:
                self._soon(self._failed, f"cannot reach the broker {self.cfg.broker}: {exc}")
            else:
                rc = MQTTErrorCode.MQTT_ERR_SUCCESS
                while not self._halt.is_set() and rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
                    rc = client.loop(timeout=0.2)
                if not self._stopping.is_set():
                    self._soon(self._down, client, f"connection lost ({rc.name})")
                else:
                    break
            if self._connack.is_set():
                delay = self.cfg.reconnect_min_s  # it worked: start the backoff again
            # "Full jitter": anywhere from nothing to the current ceiling, so a fleet that
            # lost its broker at one moment comes back spread out, not in step.
            self._halt.wait(random.uniform(0.05, delay))
            delay = min(delay * 2, self.cfg.reconnect_max_s)

    def _new_client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.kiosk_id, protocol=mqtt.MQTTv5
        )
        cfg = self.cfg
        if cfg.tls:
            client.tls_set(
                ca_certs=str(cfg.ca_file) if cfg.ca_file else None,
                certfile=str(cfg.cert_file) if cfg.cert_file else None,
                keyfile=str(cfg.key_file) if cfg.key_file else None,
            )
        if self.password is not None:
            client.username_pw_set(cfg.username or self.kiosk_id, self.password)
        client.will_set(
            report.topic(self.kiosk_id, "presence"),
            json.dumps(report.last_will(self.kiosk_id)),
            qos=1,
            retain=True,
        )
        client.max_inflight_messages_set(WINDOW + 16)
        client.on_socket_open = no_delay
        client.on_connect = self._on_connect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    def _soon(self, fn: Any, *args: Any) -> None:
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # the loop is closing
            self._loop.call_soon_threadsafe(fn, *args)

    # paho's callbacks: on the network thread; hand everything to the loop.

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            self._soon(self._failed, f"the broker refused the connection: {rc}")
        else:
            self._connack.set()
            self._soon(self._up, client)

    def _on_publish(self, client: mqtt.Client, _u: Any, mid: int, rc: Any, _p: Any) -> None:
        self._soon(self._puback, client, mid, rc.is_failure, str(rc))

    def _on_message(self, client: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self._soon(self._message, client, msg.topic, bytes(msg.payload), bool(msg.retain))

    # -- on the loop ----------------------------------------------------------------

    def _up(self, client: mqtt.Client) -> None:
        self._client = client
        self._state, self._since, self._last_error = "connected", time.time(), None
        self._inflight.clear()
        self._acked_early.clear()
        self._sent_upto = self.acked_seq  # the broker's queue is a cache: send from the cursor
        self._last_state = None
        self._state_stale = True
        self.kiosk.staff_sync.link_up()  # before the subscription that brings the list
        options = SubscribeOptions(qos=1)
        client.subscribe(
            [
                (report.topic(self.kiosk_id, leaf), options)
                for leaf in ("commands", "announcements", "config/desired", "staff")
            ]
        )
        self._publish(client, "presence", report.presence(self.kiosk, True), qos=1, retain=True)
        self._publish(client, "config/reported", self.commands.reported(), qos=1, retain=True)
        self._reported_down = False
        self.store.log_event(
            EventKind.FLEET_LINK_UP,
            Severity.INFO,
            None,
            None,
            broker=self.cfg.broker,
            unacked=self.status()["unacked"],
        )
        log.info("fleet link up: %s", self.cfg.broker)
        self._wake.set()

    def _down(self, client: mqtt.Client, why: str) -> None:
        if client is self._client:
            self._client = None
        self._went_down(why)

    def _failed(self, why: str) -> None:
        self._client = None
        self._went_down(why)

    def _went_down(self, why: str) -> None:
        self.kiosk.staff_sync.link_down()
        if self._state != "down":
            self._since = time.time()
        self._state, self._last_error = "down", why
        if not self._reported_down:  # one event per outage, not one per retry
            self._reported_down = True
            self.store.log_event(
                EventKind.FLEET_LINK_DOWN,
                Severity.WARNING,
                None,
                None,
                broker=self.cfg.broker,
                error=why,
            )
            log.warning("fleet link down: %s", why)

    def resend_from(self, seq: int) -> None:
        """Send the event log again from ``seq`` (the acknowledged cursor stays)."""
        self._sent_upto = min(self._sent_upto, max(0, seq - 1))
        self._inflight.clear()  # their PUBACKs no longer matter: all is sent again
        self._wake.set()

    def _on_event(self, event: Event) -> None:
        self._wake.set()
        self._state_stale = True

    def _puback(self, client: mqtt.Client, mid: int, failed: bool, why: str) -> None:
        seq = self._inflight.pop(mid, None) if client is self._client else None
        if seq is None:
            return
        if failed:  # the broker would not take it: not acknowledged, sent again later
            self._last_error = f"the broker refused event {seq}: {why}"
            return
        if seq <= self.acked_seq:
            return  # a resent event the cursor has passed already
        self._acked_early.add(seq)
        while self.acked_seq + 1 in self._acked_early:
            self.acked_seq += 1
            self._acked_early.discard(self.acked_seq)
        self._wake.set()

    def _message(self, client: mqtt.Client, topic: str, payload: bytes, retained: bool) -> None:
        leaf = topic.removeprefix(report.topic(self.kiosk_id, ""))
        if leaf == "staff":  # at once, in order: a sign-in may be waiting for it
            self._staff(payload, retained)
            return
        assert self._loop is not None
        self._loop.create_task(self._handle(client, leaf, payload), name="fleet-message")

    def _staff(self, payload: bytes, retained: bool) -> None:
        try:
            if payload:  # (an empty one clears the retained)
                result = self.commands.staff_list(payload)
                if result is not None:
                    self._reply(result)
        except Exception:
            log.exception("a message on staff could not be handled")
            self.store.log_event(
                EventKind.FLEET_MESSAGE_FAILED, Severity.WARNING, None, None, topic="staff"
            )
        finally:
            if retained:  # handled, whatever came of it: waiting on would not help
                self.kiosk.staff_sync.confirmed()

    async def _handle(self, client: mqtt.Client, leaf: str, payload: bytes) -> None:
        try:
            if leaf == "commands":
                self._reply(await self.commands.command(payload))
            elif leaf == "announcements":
                self._reply(self.commands.announcement(payload))
            elif leaf == "config/desired" and payload:  # (an empty one clears the retained)
                result, reported = self.commands.desired(payload)
                if result is not None:
                    self._reply(result)
                current = self._client
                if current is not None and reported is not None:
                    self._publish(current, "config/reported", reported, qos=1, retain=True)
        except Exception:
            log.exception("a message on %s could not be handled", leaf)
            self.store.log_event(
                EventKind.FLEET_MESSAGE_FAILED, Severity.WARNING, None, None, topic=leaf
            )

    def _reply(self, result: Result) -> None:
        client = self._client
        if client is None:  # the record stays: the operator's retry gets it as a replay
            log.warning("result of %s not sent: the link is down", result.get("id"))
            return
        self._publish(client, "results", result, qos=1)

    def _publish(
        self,
        client: mqtt.Client,
        leaf: str,
        body: Report,
        qos: int = 1,
        retain: bool = False,
    ) -> mqtt.MQTTMessageInfo:
        return client.publish(
            report.topic(self.kiosk_id, leaf),
            json.dumps(body, separators=(",", ":")),
            qos=qos,
            retain=retain,
        )

    async def _pump(self) -> None:
        """Send the event log above the cursor, in order, a window at a time."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._send_window():
                await asyncio.sleep(0)

    def _send_window(self) -> bool:
        """Fill the window; False when there is nothing more to send for now."""
        client = self._client
        room = WINDOW - len(self._inflight)
        if client is None or room <= 0:
            return False
        events = self.store.events(after=self._sent_upto, limit=room)
        for event in events:
            info = self._publish(client, "events", report.event_message(self.kiosk_id, event))
            if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return False  # not connected after all; sent again from the cursor
            self._inflight[info.mid] = event.seq
            self._sent_upto = event.seq
            self.sent += 1
        return bool(events)

    async def _state_loop(self) -> None:
        built_at = 0.0
        while True:
            client = self._client
            due = time.monotonic() - built_at >= STATE_REFRESH_S
            if client is not None and (self._state_stale or due):
                self._state_stale, built_at = False, time.monotonic()
                state = report.compartments_state(self.kiosk)
                if state != self._last_state:
                    self._publish(
                        client,
                        "state/compartments",
                        CompartmentsState(**state, ts=time.time()),
                        qos=1,
                        retain=True,
                    )
                    self._last_state = state
            await asyncio.sleep(STATE_CHECK_S)

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.health_interval_s)
            self.commands.gate.flush()  # refusals counted but not logged one by one
            client = self._client
            if client is not None:
                self._publish(client, "health", report.health(self.kiosk, self.acked_seq), qos=0)

    async def _persist_loop(self) -> None:
        while True:
            await asyncio.sleep(PERSIST_S)
            self._persist()

    def _persist(self) -> None:
        if self.acked_seq != self._persisted_seq:
            try:
                self.store.set_meta(ACKED_SEQ, str(self.acked_seq))
            except Exception:
                log.exception("the fleet cursor could not be saved; it is tried again")
                return
            self._persisted_seq = self.acked_seq
