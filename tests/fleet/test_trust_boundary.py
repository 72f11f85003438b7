"""The network's adversaries against a real kiosk: what the broker, or anyone on its path,
can try without the operator's signing key, and another kiosk's stolen credentials.

A real daemon on the simulator, a real Mosquitto run from the shipped config. The
intruder holds the broker's operator account (so it may publish on every topic of every
kiosk, as the broker itself could) but not the operator's key. What a person would see
is checked: the recipients' inbox (the ``file`` notification back end), the parcels, the
settings in force, the kiosk's events and its log, the doors that did not fire.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from kiosk.fleet import messages
from kiosk.fleet.envelope import new_key, sign
from kiosk.fleet.gate import EVENTS_PER_HOUR
from kiosk.store import Store
from testkit.api import PHONE, store_parcel
from testkit.broker import Broker, running_broker
from testkit.daemon import Daemon
from testkit.fleet import KID, USERS, Operator, linked_kiosk, operator
from testkit.mqtt_peer import Peer

KIOSK = "KIOSK-1"
TOPIC = f"lk/v1/kiosk/{KIOSK}"
ATTACKER = "thief@example.net"
DEEP = b"[" * 30_000 + b"]" * 30_000  # 60 KB: under the broker's message size limit


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


def refusals(daemon: Daemon, kind: str) -> list[dict[str, Any]]:
    return [e["detail"] for e in daemon.events(kind)]


def unsigned_announcement(barcode: str, version: int = 1, **contact: str) -> bytes:
    """The form announcements had before they were signed."""
    body = {"version": version, "action": "announce", "barcode": barcode, "size": "M", **contact}
    return json.dumps(body).encode()


def test_forged_announcement_cannot_redirect_the_pickup_code(linked: Any) -> None:
    op, daemon, intruder = linked
    thief_key, _ = new_key()
    forged_args = {"version": 1, "barcode": "JJD-REAL-1", "size": "M", "email": ATTACKER}
    forged = {
        "unsigned": unsigned_announcement("JJD-REAL-1", email=ATTACKER),
        "bad_signature": sign(thief_key, KID, KIOSK, "announce", forged_args, 86400),
        "unknown_key": sign(thief_key, "thief", KIOSK, "announce", forged_args, 86400),
    }
    for raw in forged.values():  # before the operator's own announcement ...
        intruder.publish(f"{TOPIC}/announcements", raw)
    daemon.wait_for(lambda: len(refusals(daemon, "announcement_refused")) == 3,
                    what="three refusals")  # fmt: skip
    assert daemon.client().get("/v1/parcels")["parcels"] == [], "nothing was announced"

    real = messages.announce(op.signer, KIOSK, "JJD-REAL-1", "M", PHONE)
    assert op.ask(real)["ok"] is True
    for raw in forged.values():  # ... and after it, to add the thief as a second recipient
        intruder.publish(f"{TOPIC}/announcements", raw)
    daemon.wait_for(lambda: len(refusals(daemon, "announcement_refused")) == 6,
                    what="three more refusals")  # fmt: skip

    courier = daemon.signed_in()  # the courier relies on the announcement for the contact
    view = courier.post("/v1/deposits", {"barcode": "JJD-REAL-1"})
    assert courier.wait_operation(view["operation"])["status"] == "CLOSED"
    daemon.code_for("JJD-REAL-1")
    inbox = daemon.inbox()
    assert [(m["kind"], m["recipient"]) for m in inbox] == [("parcel_stored", PHONE)]
    assert ATTACKER not in json.dumps(inbox), "the thief is sent nothing"
    reasons = [d["reason"] for d in refusals(daemon, "announcement_refused")]
    assert sorted(reasons) == sorted(list(forged) * 2)
    assert ATTACKER not in json.dumps(daemon.events()), "nor is the address kept anywhere"


def test_forged_desired_config_changes_no_setting(linked: Any) -> None:
    op, daemon, intruder = linked
    loosen = {"fleet.remote_opens_per_hour": 1000, "policy.hold_hours": 1}
    unsigned = json.dumps({"version": 2**62, "settings": loosen}).encode()
    intruder.publish(f"{TOPIC}/config/desired", unsigned, retain=True)
    daemon.wait_for(lambda: refusals(daemon, "remote_config_refused"), what="the refusal")
    (refusal,) = refusals(daemon, "remote_config_refused")
    assert (refusal["reason"], refusal["message"]) == ("unsigned", "the message is not signed")

    daemon.stop()  # the retained message comes back at every start: refused again
    daemon.start()
    wait_connected(daemon)
    daemon.wait_for(lambda: len(refusals(daemon, "remote_config_refused")) == 2,
                    what="the refusal at the next start")  # fmt: skip
    assert op.peer.bodies("config/reported")[-1]["applied"] == {}, "nothing reported applied"
    store_parcel(daemon, "HELD-72", size="S")
    (parcel,) = daemon.client().get("/v1/parcels")["parcels"]
    assert parcel["expires_at"] - parcel["stored_at"] == pytest.approx(72 * 3600, abs=5)
    assert "remote_config_applied" not in [e["kind"] for e in daemon.events()]

    # The operator's own config applies; an older one of the operator's, kept back by the
    # broker and delivered late, cannot roll it back.
    older = messages.desired_config(op.signer, KIOSK, {"policy.hold_hours": 1}, version=10)
    newer = messages.desired_config(op.signer, KIOSK, {"policy.hold_hours": 48}, version=20)
    assert op.ask(newer)["ok"] is True
    late = op.ask(older)
    assert (late["ok"], late["reason"]) == (False, "stale")
    assert op.peer.bodies("config/reported")[-1]["applied"] == {"policy.hold_hours": 48}
    intruder.publish(f"{TOPIC}/config/desired", b"", retain=True)


def test_a_poisoned_announcement_version_cannot_make_the_kiosk_ignore_later_ones(
    linked: Any,
) -> None:
    op, daemon, intruder = linked
    thief_key, _ = new_key()
    intruder.publish(f"{TOPIC}/announcements", unsigned_announcement("POISON-1", 2**62,
                                                                     phone=PHONE))  # fmt: skip
    poison = {"version": 2**62, "barcode": "POISON-2", "size": "S", "phone": PHONE}
    intruder.publish(f"{TOPIC}/announcements", sign(thief_key, KID, KIOSK, "announce", poison))
    # Even the operator's key cannot sign a version beyond the time it signs it.
    beyond = sign(op.key, KID, KIOSK, "announce", {**poison, "barcode": "POISON-3"}, 86400)
    intruder.publish(f"{TOPIC}/announcements", beyond)
    daemon.wait_for(lambda: len(refusals(daemon, "announcement_refused")) == 3,
                    what="three refusals")  # fmt: skip
    reasons = [d["reason"] for d in refusals(daemon, "announcement_refused")]
    assert reasons == ["unsigned", "bad_signature", "malformed"]

    later = op.ask(messages.announce(op.signer, KIOSK, "JJD-LATER", "S", PHONE))
    assert later["ok"] is True and later["message"] == "Parcel JJD-LATER announced."
    parcels = {p["barcode"]: p["state"] for p in daemon.client().get("/v1/parcels")["parcels"]}
    assert parcels == {"JJD-LATER": "ANNOUNCED"}


def test_what_forged_messages_left_before_messages_were_signed_does_not_carry_over(
    linked: Any,
) -> None:
    op, daemon, _intruder = linked
    assert daemon.stop() == 0
    store = Store(daemon.data_dir / "kiosk.db")  # as a kiosk attacked before the upgrade
    store.set_meta("fleet.announcements_cursor", str(2**62))
    store.set_meta(
        "fleet.settings", json.dumps({"policy.hold_hours": 1, "fleet.remote_opens_per_hour": 1000})
    )
    store.close()
    daemon.start()
    wait_connected(daemon)
    (dropped,) = refusals(daemon, "remote_config_refused")
    assert dropped["reason"] == "unsigned"
    assert dropped["settings"] == {"policy.hold_hours": 1, "fleet.remote_opens_per_hour": 1000}
    store_parcel(daemon, "HELD-72-AGAIN", size="S")
    (parcel,) = daemon.client().get("/v1/parcels")["parcels"]
    assert parcel["expires_at"] - parcel["stored_at"] == pytest.approx(72 * 3600, abs=5)
    later = op.ask(messages.announce(op.signer, KIOSK, "JJD-AFTER", "S", PHONE))
    assert later["ok"] is True, later
    daemon.stop()
    daemon.start()
    wait_connected(daemon)
    assert len(refusals(daemon, "remote_config_refused")) == 1, "said once"


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


def test_deeply_nested_json_on_every_topic_is_refused_without_a_traceback(
    linked: Any,
) -> None:
    op, daemon, intruder = linked
    for leaf in ("commands", "announcements"):
        intruder.publish(f"{TOPIC}/{leaf}", DEEP)
        intruder.publish(f"{TOPIC}/{leaf}", b"\xff\xfe not json")
    intruder.publish(f"{TOPIC}/config/desired", DEEP, retain=True)
    intruder.publish(f"{TOPIC}/staff", DEEP, retain=True)
    kinds = ("remote_command_refused", "announcement_refused", "remote_config_refused",
             "staff_update_refused")  # fmt: skip
    daemon.wait_for(lambda: all(refusals(daemon, kind) for kind in kinds), what="refusals")
    daemon.wait_for(lambda: len(refusals(daemon, "announcement_refused")) == 2, what="both")
    for kind in kinds:
        deep = refusals(daemon, kind)[0]
        assert deep["reason"] == "malformed"
        assert deep["message"] == "the envelope is nested deeper than 16"
    garbage = refusals(daemon, "announcement_refused")[1]
    assert (garbage["reason"], garbage["message"]) == ("malformed", "the envelope is not JSON")

    daemon.stop()  # the retained one again at the next start: refused again, quietly
    daemon.start()
    wait_connected(daemon)
    for retained in ("remote_config_refused", "staff_update_refused"):
        daemon.wait_for(lambda kind=retained: len(refusals(daemon, kind)) == 2,
                        what=f"the {retained} at the next start")  # fmt: skip
    assert op.ask(messages.selftest(op.signer, KIOSK))["ok"] is True, "the kiosk still listens"
    assert "Traceback" not in daemon.log()
    assert "fleet_message_failed" not in [e["kind"] for e in daemon.events()]
    intruder.publish(f"{TOPIC}/config/desired", b"", retain=True)
    intruder.publish(f"{TOPIC}/staff", b"", retain=True)


def test_announcements_sent_while_a_kiosk_was_away_for_days_apply_when_it_returns(
    linked: Any,
) -> None:
    op, daemon, _intruder = linked
    fired_before = daemon.sim().fire_counts()
    assert daemon.stop() == 0
    days_ago = time.time() - 3 * 86400  # as if sent three days ago, into the kiosk's session
    first = messages.announce(op.signer, KIOSK, "AWAY-1", "S", PHONE, now=days_ago)
    held = messages.announce(op.signer, KIOSK, "AWAY-2", "M", PHONE, reserve=True,
                             now=days_ago + 60)  # fmt: skip
    door = messages.open_door(op.signer, KIOSK, "A01", now=days_ago + 120)
    for message in (first, held, door):
        op.publish(message)

    daemon.start()
    wait_connected(daemon)
    assert op.result(first.id)["ok"] is True
    assert op.result(held.id)["result"]["held"] == "A04"
    stale_open = op.result(door.id)
    assert (stale_open["ok"], stale_open["reason"]) == (False, "expired"), "a command does not"
    op.publish(first)  # the operator's resync after the outage: the same message again
    op.peer.wait_for(lambda: len(op.results(first.id)) == 2, what="the resync's answer")
    assert op.results(first.id)[-1]["replayed"] is True
    parcels = {p["barcode"]: p["state"] for p in daemon.client().get("/v1/parcels")["parcels"]}
    assert parcels == {"AWAY-1": "ANNOUNCED", "AWAY-2": "ANNOUNCED"}
    assert daemon.sim().fire_counts() == fired_before, "no door fired"


def test_a_flood_of_forged_messages_cannot_fill_the_event_log(linked: Any) -> None:
    op, daemon, intruder = linked
    before = daemon.events()[-1]["seq"]
    flood = 5 * EVENTS_PER_HOUR
    for n in range(flood):
        intruder.publish(f"{TOPIC}/announcements", unsigned_announcement(f"FLOOD-{n}", n + 1))
    intruder.publish(f"{TOPIC}/commands", b"{}")  # another kind keeps its own allowance
    op.peer.wait_for(lambda: len(op.peer.bodies("results")) >= flood + 1, what="every answer")
    written = [e for e in daemon.events() if e["seq"] > before]
    kinds = [e["kind"] for e in written]
    assert kinds.count("announcement_refused") == EVENTS_PER_HOUR
    assert kinds.count("remote_command_refused") == 1
    assert daemon.client().get("/v1/parcels")["parcels"] == []
