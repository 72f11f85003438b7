"""The operator's client of the fleet broker: small, synchronous, one call at a time.

Behind ``locker-fleet`` (docs/fleet-operator.md), on the contract of docs/fleet.md.
paho's network thread only hands messages over through a queue; every method here runs
in the caller's thread and returns when it has what it asked for or its time is up::

    with Operator(config) as op:
        kiosks = op.kiosks()                       # retained presence and state
        answer = op.deliver(messages.open_door(signer, "KIOSK-17", "A07"))

Every message it sends is built and signed by :mod:`kiosk.fleet.messages`.

A kiosk is named by its topic, never by what its payload says: the broker's ACL lets a
kiosk write only below its own id, so the topic is the part that was checked.
"""

from __future__ import annotations

import queue
import secrets
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.reasoncodes import ReasonCode

from kiosk.errors import LockerError
from kiosk.fleet import messages
from kiosk.fleet.envelope import CommandRefused, parse_object
from kiosk.fleet.messages import COMMAND_LIFETIME_S, ROOT, Outgoing, Signer, check_kiosk_id, topic
from kiosk.fleet.net import no_delay
from kiosk.fleet.operator_config import OperatorConfig
from kiosk.fleet.payloads import Body

__all__ = ["COMMAND_LIFETIME_S", "ROOT", "Operator", "check_kiosk_id", "topic"]
_KEEPALIVE_S = 30


class FleetError(LockerError):
    """Something between here and the kiosks failed: the broker or the login."""


class BrokerUnreachable(FleetError):
    """The broker did not answer (or not in time)."""


class LoginRefused(FleetError):
    """The broker answered and refused this login (or this subscription)."""


class NoAnswer(FleetError):
    """The kiosk did not answer in time; ``sent`` is what was published (its
    ``expires_at`` is when it stops being valid)."""

    def __init__(self, message: str, kiosk: str, sent: Body) -> None:
        super().__init__(message)
        self.kiosk = kiosk
        self.sent = sent


@dataclass
class KioskView:
    """What the broker holds for one kiosk: its retained presence and compartment state."""

    kiosk: str
    presence: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """``online``, ``offline``, or ``unknown`` when no presence is held."""
        value = self.presence.get("status")
        return value if value in ("online", "offline") else "unknown"

    @property
    def last_seen(self) -> float | None:
        """The latest time the kiosk itself stamped (a last will carries none)."""
        stamps = [self.presence.get("since"), self.state.get("ts")]
        times = [t for t in stamps if isinstance(t, int | float) and not isinstance(t, bool)]
        return max(times, default=None)

    def as_json(self) -> dict[str, Any]:
        return {
            "kiosk": self.kiosk,
            "status": self.status,
            "last_seen": self.last_seen,
            "presence": self.presence,
            "state": self.state,
        }


@dataclass(frozen=True)
class Answer:
    """A kiosk's result for something sent to it, with what was sent."""

    kiosk: str
    sent: Body
    result: dict[str, Any]
    """As the kiosk sent it (a :class:`kiosk.fleet.payloads.Result`, read unchecked)."""

    @property
    def ok(self) -> bool:
        return self.result.get("ok") is True


def kiosk_of(topic_name: str) -> str:
    """The kiosk id in ``lk/v1/kiosk/{id}/...``."""
    return topic_name.split("/")[3]


def json_object(payload: bytes | bytearray) -> dict[str, Any] | None:
    """A payload as a JSON object; ``None`` for anything else (a cleared retained topic,
    or what a kiosk's stolen credentials publish to trip the operator's side: JSON
    nested thousands deep is dropped here, with the kiosk's own size and depth rules)."""
    try:
        return parse_object(bytes(payload), "the message")
    except CommandRefused:
        return None


class Operator:
    """One connection to the broker as the operator; use it as a context manager."""

    def __init__(self, config: OperatorConfig) -> None:
        self.config = config
        self.client_id = f"operator-{secrets.token_hex(6)}"
        self._inbox: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._connected = threading.Event()
        self._connect_reason: ReasonCode | None = None
        self._subacks: dict[int, list[ReasonCode]] = {}
        self._suback = threading.Condition()
        self._topics: list[str] = []
        self._client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id,
                             protocol=mqtt.MQTTv5)  # fmt: skip
        if self.config.password is not None or self.config.username:
            client.username_pw_set(self.config.username, self.config.password)
        if self.config.tls:
            ca = str(self.config.ca_file) if self.config.ca_file else None
            client.tls_set(ca_certs=ca)
        client.on_socket_open = no_delay
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = lambda _c, _u, message: self._inbox.put(message)
        return client

    # -- paho's thread: hand over, nothing else ------------------------------------------

    def _on_connect(self, client: Any, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        # A new session after a dropped connection has no subscriptions: make them again.
        if self._topics and not reason.is_failure:
            client.subscribe([(t, 1) for t in self._topics])
        self._connect_reason = reason
        self._connected.set()

    def _on_subscribe(self, _c: Any, _u: Any, mid: int, reasons: list[ReasonCode], _p: Any) -> None:
        with self._suback:
            self._subacks[mid] = reasons
            self._suback.notify_all()

    # -- connection ----------------------------------------------------------------------

    def connect(self, timeout_s: float = 10.0) -> None:
        where = f"{self.config.host}:{self.config.port}"
        self._client.connect_timeout = timeout_s
        try:
            self._client.connect(self.config.host, self.config.port, _KEEPALIVE_S)
        except OSError as exc:
            raise BrokerUnreachable(f"cannot reach the broker {where}: {exc}") from exc
        self._client.loop_start()
        if not self._connected.wait(timeout_s):
            self.close()
            raise BrokerUnreachable(f"the broker {where} did not answer within {timeout_s:g} s")
        reason = self._connect_reason
        if reason is not None and reason.is_failure:
            self.close()
            raise LoginRefused(
                f"the broker {where} refused the login of {self.config.username!r}: {reason} "
                f"(check username and password_file in {self.config.source})"
            )

    def close(self) -> None:
        """Disconnect cleanly; safe to call twice."""
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> Operator:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def subscribe(self, topics: Sequence[str], timeout_s: float = 10.0) -> None:
        """Subscribe at QoS 1 and return once the broker has granted every topic."""
        self._topics.extend(topics)
        result, mid = self._client.subscribe([(t, 1) for t in topics])
        if result != mqtt.MQTT_ERR_SUCCESS or mid is None:
            raise BrokerUnreachable(f"cannot subscribe: {mqtt.error_string(result)}")
        with self._suback:
            if not self._suback.wait_for(lambda: mid in self._subacks, timeout_s):
                raise BrokerUnreachable(f"the broker did not confirm the subscription to {topics}")
            reasons = self._subacks.pop(mid)
        refused = [t for t, r in zip(topics, reasons, strict=False) if r.is_failure]
        if refused:
            raise LoginRefused(f"the broker refused {self.config.username!r} a subscription to "
                               f"{', '.join(refused)}")  # fmt: skip

    def publish(
        self, topic_name: str, payload: bytes, timeout_s: float = 10.0, retain: bool = False
    ) -> None:
        """Publish at QoS 1 and return once the broker has acknowledged it."""
        info = self._client.publish(topic_name, payload, qos=1, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise BrokerUnreachable(f"cannot publish: {mqtt.error_string(info.rc)}")
        info.wait_for_publish(timeout_s)
        if not info.is_published():
            raise BrokerUnreachable(f"the broker did not acknowledge {topic_name} in time")

    def messages(self, until: float | None) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(topic, JSON object)`` as received, until the monotonic time ``until`` (or ever)."""
        while until is None or time.monotonic() < until:
            wait = 0.5 if until is None else max(0.0, until - time.monotonic())
            try:
                message = self._inbox.get(timeout=min(wait, 0.5))
            except queue.Empty:
                continue
            body = json_object(message.payload)
            if body is not None:
                yield message.topic, body

    # -- what locker-fleet does ----------------------------------------------------------

    def kiosks(self, settle_s: float | None = None) -> list[KioskView]:
        """Every kiosk whose presence or state the broker retains, sorted by id."""
        self.subscribe([topic("+", "presence"), topic("+", "state/compartments")])
        views: dict[str, KioskView] = {}
        until = time.monotonic() + (self.config.settle_s if settle_s is None else settle_s)
        for name, body in self.messages(until):
            view = views.setdefault(kiosk_of(name), KioskView(kiosk_of(name)))
            if name.endswith("/presence"):
                view.presence = body
            else:
                view.state = body
        return [views[k] for k in sorted(views)]

    def events(
        self, kiosk: str | None = None, until: float | None = None
    ) -> Iterator[dict[str, Any]]:
        """Events as they arrive (all kiosks, or one), each ``key`` once, until ``until``.

        The link sends each event at least once, so a repeat is dropped here. Events are
        not retained: this sees what is sent while it listens, nothing before.
        """
        self.subscribe([topic(check_kiosk_id(kiosk) if kiosk else "+", "events")])
        seen: set[tuple[str, str]] = set()
        for name, body in self.messages(until):
            body["kiosk"] = kiosk_of(name)
            key = (body["kiosk"], str(body.get("key") or body.get("seq")))
            if key not in seen:  # per kiosk: one kiosk cannot hide another's events
                seen.add(key)
                yield body

    def send(
        self,
        key: Ed25519PrivateKey,
        kid: str,
        kiosk: str,
        command: str,
        args: Mapping[str, Any] | None = None,
        timeout_s: float | None = None,
    ) -> Answer:
        """Sign one command (or any message, by its name) and :meth:`deliver` it."""
        return self.deliver(messages.signed(Signer(key, kid), kiosk, command, args), timeout_s)

    def deliver(self, message: Outgoing, timeout_s: float | None = None) -> Answer:
        """Publish a signed message and wait for the kiosk's result with its id.

        Raises :class:`NoAnswer` when none comes in time; the message then stays valid
        until its ``expires_at``. Publishing the same message again is safe: a kiosk that
        has it answers the copy as a replay and does nothing again.
        """
        # Subscribed before publishing, so a quick answer cannot pass unseen.
        self.subscribe([topic(message.kiosk, "results")])
        wait_s = self.config.timeout_s if timeout_s is None else timeout_s
        self.publish(message.topic, message.payload, retain=message.retain)
        for name, body in self.messages(time.monotonic() + wait_s):
            if kiosk_of(name) == message.kiosk and body.get("id") == message.id:
                return Answer(message.kiosk, message.body, body)
        raise NoAnswer(
            f"{message.kiosk}: no answer within {wait_s:g} s", message.kiosk, message.body
        )
