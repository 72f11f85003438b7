"""Many simulated kiosks on one broker, driven by one thread (for ``fleet_load.py``).

Each :class:`SimKiosk` is a paho-mqtt 2 client (MQTT 5) that behaves on the wire like
the daemon's link (docs/fleet.md): its kiosk id as client id and username, a persistent
session, the last will ``offline`` (retained, QoS 1), then on CONNACK a subscription to
its ``commands``, a retained ``presence`` and ``state/compartments``; events (QoS 1) in
the contract's shape with a gap-free ``seq``; a ``results`` message for every command.
It does not check the command's signature (that is the real kiosk's cost, measured in
part B of the benchmark).

One thread (:class:`SimFleet`) drives every client: paho's ``loop_read``,
``loop_write`` and ``loop_misc`` over a ``selectors`` selector (epoll on Linux), never
``loop_start``, which would be one thread per client. Only the TCP connect is done
elsewhere: paho's ``connect()``/``reconnect()`` block until the handshake is done, and
while the broker's accept queue is full that can take a SYN retransmit (1 s), so a
small pool of threads makes them and hands each connected client to the driver. The
pool is what "all at once" means here: as fast as one process can open connections.
"""

from __future__ import annotations

import base64
import contextlib
import heapq
import json
import queue
import random
import selectors
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kiosk.fleet.net import no_delay

PREFIX = "lk/v1/kiosk"
KEEPALIVE_S = 30
SESSION_EXPIRY_S = 7 * 24 * 3600  # the link's default
CONNECT_THREADS = 16
MISC_EVERY_S = 1.0


def topic(kiosk_id: str, leaf: str) -> str:
    return f"{PREFIX}/{kiosk_id}/{leaf}"


@dataclass
class Attempt:
    """One connection attempt: started (``perf_counter``), and how it ended."""

    kiosk: str
    started: float
    connack: float | None = None
    failure: str | None = None


class SimKiosk:
    """One simulated kiosk: a paho client and what it has sent."""

    def __init__(self, fleet: SimFleet, kiosk_id: str, password: str) -> None:
        self.fleet = fleet
        self.id = kiosk_id
        self.seq = 0
        self.is_up = False
        self.sock: Any = None  # the socket registered with the selector
        self.mask = 0
        self.attempt: Attempt | None = None
        self.ever_connected = False
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=kiosk_id, protocol=mqtt.MQTTv5)
        client.username_pw_set(kiosk_id, password)
        client.will_set(topic(kiosk_id, "presence"),
                        json.dumps({"kiosk": kiosk_id, "status": "offline"}),
                        qos=1, retain=True)  # fmt: skip
        client.on_socket_open = no_delay
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self.client = client

    # -- on a connect thread -------------------------------------------------------

    def open_connection(self, attempt: Attempt) -> None:
        """TCP connect and send CONNECT; the CONNACK is read by the driver."""
        self.attempt = attempt
        if not self.ever_connected:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = SESSION_EXPIRY_S
            self.client.connect(self.fleet.host, self.fleet.port, keepalive=KEEPALIVE_S,
                                clean_start=False, properties=props)  # fmt: skip
            self.ever_connected = True
        else:
            rc = self.client.reconnect()
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                raise OSError(f"reconnect: {rc.name}")

    # -- paho's callbacks, on the driver thread -------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        attempt = self.attempt
        if reason.is_failure:
            if attempt is not None:
                attempt.failure = f"CONNACK {reason}"
            self.fleet.attempt_done(self)
            return
        if attempt is not None:
            attempt.connack = time.perf_counter()
        self.is_up = True
        client.subscribe(topic(self.id, "commands"), qos=1)
        self._publish("presence", self.presence(), retain=True)
        self._publish("state/compartments", self.state(), retain=True)
        self.fleet.attempt_done(self)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if self.is_up and not self.fleet.dropping:
            self.fleet.unexpected_drops += 1
        self.is_up = False

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            envelope = json.loads(msg.payload)
            payload = json.loads(base64.b64decode(envelope["payload"]))
        except (ValueError, KeyError, TypeError):
            return
        self._publish("results", {
            "kiosk": self.id, "id": payload.get("id"), "command": payload.get("command"),
            "ok": True, "reason": None, "message": "simulated", "result": {},
            "replayed": False, "ts": time.time(),
        })  # fmt: skip

    # -- what it sends --------------------------------------------------------------

    def presence(self) -> dict[str, Any]:
        return {"kiosk": self.id, "status": "online", "since": time.time(),
                "version": "sim", "announcements_cursor": 0}  # fmt: skip

    def state(self) -> dict[str, Any]:
        return {
            "kiosk": self.id, "ts": time.time(),
            "free": {"S": 3, "M": 1, "L": 0, "XL": 1}, "total": {"S": 4, "M": 3, "L": 2, "XL": 1},
            "out_of_service": [], "doors_open": [], "doors_unknown": [],
            "boards": {"bank": True}, "guard": "ok", "alarms": 0,
        }  # fmt: skip

    def send_event(self) -> bool:
        """One event, QoS 1; False when not connected (a real kiosk keeps it for later)."""
        if not self.is_up:
            return False
        self.seq += 1
        body = {
            "kiosk": self.id, "seq": self.seq, "key": f"{self.id}:{self.seq}",
            "ts": time.time(), "kind": "parcel_stored", "severity": "info", "actor": "carla",
            "compartment": "A07", "detail": {"parcel": self.seq, "barcode": f"JJD{self.seq:07d}"},
        }  # fmt: skip
        return self._publish("events", body).rc == MQTTErrorCode.MQTT_ERR_SUCCESS

    def _publish(self, leaf: str, body: dict[str, Any], retain: bool = False) -> Any:
        payload = json.dumps(body, separators=(",", ":"))
        return self.client.publish(topic(self.id, leaf), payload, qos=1, retain=retain)


@dataclass
class SimFleet:
    """``users`` ({kiosk id: password}) as simulated kiosks, and the thread that drives them."""

    host: str
    port: int
    users: dict[str, str]
    kiosks: list[SimKiosk] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    unexpected_drops: int = 0
    dropping: bool = False
    events_sent: int = 0
    events_unsent: int = 0

    def __post_init__(self) -> None:
        self.kiosks = [SimKiosk(self, k, p) for k, p in self.users.items()]
        self._selector = selectors.DefaultSelector()
        self._handoff: queue.SimpleQueue[SimKiosk] = queue.SimpleQueue()
        self._calls: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._pool = ThreadPoolExecutor(CONNECT_THREADS, thread_name_prefix="sim-connect")
        self._done = threading.Condition()
        self._pending = 0
        self._events: list[tuple[float, int]] = []  # (due, kiosk index): a heap
        self._event_interval_s = 0.0
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sim-fleet", daemon=True)
        self._thread.start()

    # -- from the benchmark's thread ---------------------------------------------------

    def connect(self, delays: list[float] | None = None, timeout_s: float = 120.0) -> list[Attempt]:
        """Connect every kiosk (``delays``: seconds from now, one per kiosk; default 0).

        Returns the attempts, each with its CONNACK time or its failure, once every one
        has ended (or ``timeout_s`` passed: the rest count as failures).
        """
        start = time.perf_counter()
        delays = delays or [0.0] * len(self.kiosks)
        order = sorted(range(len(self.kiosks)), key=lambda i: delays[i])
        attempts = [Attempt(self.kiosks[i].id, 0.0) for i in order]
        with self._done:
            self._pending = len(attempts)
        for i, attempt in zip(order, attempts, strict=True):
            self._pool.submit(self._open, self.kiosks[i], attempt, start + delays[i])
        with self._done:
            self._done.wait_for(lambda: self._pending == 0, timeout_s)
        for attempt in attempts:
            if attempt.connack is None and attempt.failure is None:
                attempt.failure = "no CONNACK in time"
        self.attempts += attempts
        return attempts

    def drop_all(self) -> None:
        """Every connection cut without a DISCONNECT (as a lost network does): wills fire."""
        finished = threading.Event()

        def cut() -> None:
            self.dropping = True
            for kiosk in self.kiosks:
                if kiosk.sock is not None:
                    with contextlib.suppress(OSError):
                        kiosk.sock.shutdown(socket.SHUT_RDWR)
            finished.set()

        self.call(cut)
        finished.wait(30)
        deadline = time.monotonic() + 30
        while any(k.is_up or k.sock is not None for k in self.kiosks):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.dropping = False

    def start_events(self, per_kiosk_per_s: float) -> None:
        """Each kiosk sends events at random (a Poisson process) at this rate."""

        def begin() -> None:
            self._event_interval_s = 1.0 / per_kiosk_per_s
            now = time.monotonic()
            self._events = [(now + random.expovariate(per_kiosk_per_s), i)
                            for i in range(len(self.kiosks))]  # fmt: skip
            heapq.heapify(self._events)

        self.call(begin)

    def stop_events(self) -> None:
        self.call(self._events.clear)

    def burst(self, per_kiosk: int) -> None:
        """Every kiosk sends ``per_kiosk`` events at once (paho queues what it cannot send)."""

        def send() -> None:
            for _ in range(per_kiosk):
                for kiosk in self.kiosks:
                    self._count(kiosk.send_event())
                    self._sync(kiosk)

        self.call(send)

    def call(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the driver thread (the only one that touches connected clients)."""
        self._calls.put(fn)

    def backlog(self) -> int:
        """QoS 1 messages sent and not yet acknowledged, over every kiosk (approximate)."""
        return sum(len(k.client._out_messages) for k in self.kiosks)

    def close(self) -> None:
        def bye() -> None:
            for kiosk in self.kiosks:
                with contextlib.suppress(Exception):
                    kiosk.client.disconnect()
                    kiosk.client.loop_write()

        self.dropping = True
        self.call(bye)
        time.sleep(0.5)
        self._halt.set()
        self._thread.join(10)
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- the connect pool ---------------------------------------------------------------

    def _open(self, kiosk: SimKiosk, attempt: Attempt, at: float) -> None:
        wait = at - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        attempt.started = time.perf_counter()
        try:
            kiosk.open_connection(attempt)
        except (OSError, ValueError) as exc:
            attempt.failure = f"{type(exc).__name__}: {exc}"
            self._finish()
            return
        self._handoff.put(kiosk)

    def attempt_done(self, kiosk: SimKiosk) -> None:
        self._finish()

    def _finish(self) -> None:
        with self._done:
            self._pending -= 1
            self._done.notify_all()

    # -- the driver thread --------------------------------------------------------------

    def _run(self) -> None:
        next_misc = time.monotonic() + MISC_EVERY_S
        while not self._halt.is_set():
            self._take_handoffs()
            self._run_calls()
            if self._selector.get_map():
                ready = self._selector.select(timeout=0.02)
            else:
                ready = []
                time.sleep(0.02)
            for key, mask in ready:
                self._service(key.data, mask)
            self._due_events()
            if time.monotonic() >= next_misc:
                next_misc = time.monotonic() + MISC_EVERY_S
                for kiosk in self.kiosks:
                    if kiosk.sock is not None:
                        kiosk.client.loop_misc()
                        self._sync(kiosk)

    def _take_handoffs(self) -> None:
        while True:
            try:
                kiosk = self._handoff.get_nowait()
            except queue.Empty:
                return
            self._sync(kiosk)

    def _run_calls(self) -> None:
        while True:
            try:
                fn = self._calls.get_nowait()
            except queue.Empty:
                return
            fn()

    def _service(self, kiosk: SimKiosk, mask: int) -> None:
        if mask & selectors.EVENT_READ:
            kiosk.client.loop_read()
        if mask & selectors.EVENT_WRITE and kiosk.client.socket() is not None:
            kiosk.client.loop_write()
        self._sync(kiosk)

    def _sync(self, kiosk: SimKiosk) -> None:
        """Keep the selector in step with the client: its socket, and whether it has output."""
        sock = kiosk.client.socket()
        if kiosk.sock is not None and sock is not kiosk.sock:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self._selector.unregister(kiosk.sock)
            kiosk.sock, kiosk.mask = None, 0
            attempt = kiosk.attempt
            if attempt is not None and attempt.connack is None and attempt.failure is None:
                attempt.failure = "connection closed before CONNACK"
                self._finish()
        if sock is None:
            return
        mask = selectors.EVENT_READ
        if kiosk.client.want_write():
            mask |= selectors.EVENT_WRITE
        if kiosk.sock is None:
            self._selector.register(sock, mask, kiosk)
            kiosk.sock, kiosk.mask = sock, mask
        elif mask != kiosk.mask:
            self._selector.modify(sock, mask, kiosk)
            kiosk.mask = mask

    def _due_events(self) -> None:
        now = time.monotonic()
        rate = 1.0 / self._event_interval_s if self._event_interval_s else 0.0
        while self._events and self._events[0][0] <= now:
            _due, i = heapq.heappop(self._events)
            kiosk = self.kiosks[i]
            self._count(kiosk.send_event())
            self._sync(kiosk)
            heapq.heappush(self._events, (now + random.expovariate(rate), i))

    def _count(self, sent: bool) -> None:
        if sent:
            self.events_sent += 1
        else:
            self.events_unsent += 1
