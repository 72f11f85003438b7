"""A kiosk on the operator's network: presence, state, events, announcements, config.

Every test runs real daemons on the simulator, linked to a real Mosquitto on loopback
with the ACL as shipped, and looks at what the operator's side receives.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.fleet import messages
from kiosk.fleet.cli import main as fleet_main
from testkit.api import PHONE, store_parcel
from testkit.broker import Broker, running_broker
from testkit.fleet import USERS, linked_kiosk, operator, operator_config

KIOSK = "KIOSK-1"
TOPIC = f"lk/v1/kiosk/{KIOSK}"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with running_broker(tmp_path / "broker", USERS, persistence=True) as running:
        yield running


def events_in_order(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a consumer keeps: each idempotency key once, in sequence order."""
    seen: dict[str, dict[str, Any]] = {}
    for body in bodies:
        seen.setdefault(body["key"], body)
    return sorted(seen.values(), key=lambda b: b["seq"])


def test_announce_deposit_pickup_reach_the_operator_in_order_and_once(
    broker: Broker, operator_key: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, keyring = operator_key
    with (
        operator(broker, key, keyring, f"{TOPIC}/#") as op,
        # No window to open the door again after the pickup: the M is free at once.
        linked_kiosk(
            broker, KIOSK, keyring, tmp_path, more={"doors": {"reopen_after_pickup_s": 0}}
        ) as daemon,
    ):
        presence = op.peer.wait_for(lambda: op.peer.bodies("presence"), what="presence")
        assert presence[-1]["status"] == "online"
        state = op.peer.wait_for(lambda: op.peer.bodies("state/compartments"), what="state")
        assert state[-1]["free"] == {"S": 4, "M": 4, "L": 3, "XL": 1}

        # Pre-announced from the operator's side, as an operator would type it.
        config = operator_config(tmp_path, broker, key)
        argv = ["announce", KIOSK, "JJD0001", "--size", "M", "--phone", PHONE, "--json"]
        assert fleet_main([*argv, "--config", str(config)]) == 0
        answer = json.loads(capsys.readouterr().out)["answer"]
        assert answer["ok"] is True and answer["message"] == "Parcel JJD0001 announced."

        cid, code = store_parcel(daemon, "JJD0001", size="M")
        customer = daemon.client()
        customer.wait_operation(customer.post("/v1/pickup", {"code": code})["operation"])

        def kinds() -> list[str]:
            return [e["kind"] for e in events_in_order(op.peer.bodies("events"))]

        op.peer.wait_for(lambda: "parcel_picked_up" in kinds(), what="the pickup event")
        got = events_in_order(op.peer.bodies("events"))
        seqs = [e["seq"] for e in got]
        assert seqs == list(range(1, seqs[-1] + 1)), "gap-free, from the first event"
        order = kinds()
        assert order.index("parcel_announced") < order.index("parcel_stored")
        assert order.index("parcel_stored") < order.index("parcel_picked_up")
        stored = next(e for e in got if e["kind"] == "parcel_stored")
        assert stored["key"] == f"{KIOSK}:{stored['seq']}" and stored["compartment"] == cid
        assert code not in json.dumps(got), "a pickup code never leaves the kiosk"
        # The compartment summary followed the doors: the M is free again after pickup.
        op.peer.wait_for(
            lambda: op.peer.bodies("state/compartments")[-1]["free"]["M"] == 4, what="free M"
        )
        fleet = daemon.client().get("/v1/status")["fleet"]
        assert fleet["state"] == "connected"
        daemon.wait_for(lambda: daemon.client().get("/v1/status")["fleet"]["unacked"] == 0,
                        what="every event acknowledged")  # fmt: skip


def test_events_made_while_the_broker_is_down_arrive_in_order_when_it_returns(
    broker: Broker, operator_key: Any, tmp_path: Path
) -> None:
    key, keyring = operator_key
    with (
        operator(broker, key, keyring, f"{TOPIC}/events") as op,
        linked_kiosk(broker, KIOSK, keyring, tmp_path) as daemon,
    ):
        op.peer.wait_for(lambda: op.peer.bodies("events"), what="first events")
        broker.stop()
        daemon.wait_for(lambda: daemon.client().get("/v1/status")["fleet"]["state"] == "down",
                        what="the link noticing")  # fmt: skip
        for n in range(3):  # the kiosk works on without its network
            store_parcel(daemon, f"OFFLINE-{n}", size="S")
        status = daemon.client().get("/v1/status")["fleet"]
        assert status["unacked"] > 0
        assert "down" in daemon.ctl("status").stdout
        last = daemon.events()[-1]["seq"]

        broker.start_again()
        op.peer.wait_for(
            lambda: any(e["seq"] >= last for e in op.peer.bodies("events")), 20, "catch-up"
        )
        got = events_in_order(op.peer.bodies("events"))
        seqs = [e["seq"] for e in got]
        assert seqs[:last] == list(range(1, last + 1)), "nothing lost, nothing out of order"
        kinds = [e["kind"] for e in got]
        assert kinds.count("parcel_stored") == 3
        assert "fleet_link_down" in kinds and "fleet_link_up" in kinds


def test_presence_says_offline_when_the_kiosk_dies_and_when_it_stops(
    broker: Broker, operator_key: Any, tmp_path: Path
) -> None:
    key, keyring = operator_key
    with (
        operator(broker, key, keyring, f"{TOPIC}/presence") as op,
        linked_kiosk(broker, KIOSK, keyring, tmp_path) as daemon,
    ):

        def status() -> str | None:
            bodies = op.peer.bodies("presence")
            return bodies[-1]["status"] if bodies else None

        op.peer.wait_for(lambda: status() == "online", what="online")
        daemon.kill9()
        op.peer.wait_for(lambda: status() == "offline", 15, "the last will")

        daemon.start()
        op.peer.wait_for(lambda: status() == "online", what="online again")
        assert op.peer.bodies("presence")[-1]["announcements_cursor"] == 0
        assert daemon.stop() == 0
        op.peer.wait_for(lambda: status() == "offline", 5, "offline on a clean stop")


def test_a_kiosk_whose_broker_is_unreachable_says_so_and_serves_customers(
    operator_key: Any, tmp_path: Path
) -> None:
    _key, keyring = operator_key
    nowhere = Broker("127.0.0.1", 9, None, tmp_path / "none.log")  # type: ignore[arg-type]
    with linked_kiosk(nowhere, KIOSK, keyring, tmp_path) as daemon:
        daemon.wait_for(lambda: daemon.client().get("/v1/status")["fleet"]["state"] == "down",
                        what="the link reporting down")  # fmt: skip
        _cid, code = store_parcel(daemon, "NO-NETWORK", size="S")
        customer = daemon.client()
        done = customer.wait_operation(customer.post("/v1/pickup", {"code": code})["operation"])
        assert done["message"] == "Thank you!"
        out = daemon.ctl("status").stdout
        assert "Fleet link:    down to 127.0.0.1:9" in out
        assert "cannot reach the broker" in out
        assert [e["kind"] for e in daemon.events()].count("fleet_link_down") == 1


def test_announcements_apply_once_and_a_resend_changes_nothing(
    broker: Broker, operator_key: Any, tmp_path: Path
) -> None:
    key, keyring = operator_key
    with (
        operator(broker, key, keyring, f"{TOPIC}/#") as op,
        linked_kiosk(broker, KIOSK, keyring, tmp_path) as daemon,
    ):
        op.peer.wait_for(lambda: op.peer.bodies("presence"), what="online")
        first = messages.announce(op.signer, KIOSK, "JJD0005", "S", PHONE, version=5)
        assert op.ask(first)["ok"] is True
        op.publish(first)  # the same message again: a broker's re-delivery, a resync
        op.peer.wait_for(lambda: len(op.results(first.id)) == 2, what="the re-send's answer")
        assert op.results(first.id)[-1]["replayed"] is True
        bad = messages.announce(op.signer, KIOSK, "JJD0006", "XXL", PHONE, version=6)
        refused = op.ask(bad)
        assert refused["ok"] is False and "Unknown size 'XXL'" in refused["message"]
        assert op.ask(messages.withdraw(op.signer, KIOSK, "JJD0005", version=7))["ok"] is True
        parcels = {p["barcode"]: p["state"] for p in daemon.client().get("/v1/parcels")["parcels"]}
        assert parcels == {"JJD0005": "CANCELLED"}
        # After a restart the kiosk announces its cursor, for the operator's resync.
        daemon.stop()
        daemon.start()
        op.peer.wait_for(lambda: op.peer.bodies("presence")[-1].get("announcements_cursor") == 7,
                         what="the cursor in presence")  # fmt: skip


def test_an_announced_phone_number_is_read_in_the_kiosks_region_and_sent_in_e164(
    broker: Broker, operator_key: Any, tmp_path: Path
) -> None:
    key, keyring = operator_key
    german = {"policy": {"phone_region": "DE"}}
    with (
        operator(broker, key, keyring, f"{TOPIC}/#") as op,
        linked_kiosk(broker, KIOSK, keyring, tmp_path, more=german) as daemon,
    ):
        op.peer.wait_for(lambda: op.peer.bodies("presence"), what="online")
        national = messages.announce(op.signer, KIOSK, "JJD0007", "S", "0170 99887766", version=1)
        assert op.ask(national)["ok"] is True
        short = messages.announce(op.signer, KIOSK, "JJD0008", "S", "+49 170", version=2)
        refused = op.ask(short)
        assert refused["ok"] is False
        assert refused["message"] == "phone: too short for a phone number in DE (+49)"

        courier = daemon.signed_in()
        view = courier.post("/v1/deposits", {"barcode": "JJD0007"})
        courier.wait_operation(view["operation"])
        daemon.code_for("JJD0007")
        (sent,) = [m for m in daemon.inbox() if m["kind"] == "parcel_stored"]
        assert (sent["channel"], sent["recipient"]) == ("sms", "+4917099887766")


def test_desired_config_is_applied_where_allowed_and_reported(
    broker: Broker, operator_key: Any, tmp_path: Path
) -> None:
    key, keyring = operator_key
    with (
        operator(broker, key, keyring, f"{TOPIC}/config/reported") as op,
        linked_kiosk(broker, KIOSK, keyring, tmp_path) as daemon,
    ):
        wanted = {"policy.hold_hours": 48, "fleet.remote_opens_per_hour": 2, "doors.poll_hz": 1}
        op.publish(messages.desired_config(op.signer, KIOSK, wanted, version=3))

        def reported() -> dict[str, Any] | None:
            hits = [r for r in op.peer.bodies("config/reported") if r.get("version") == 3]
            return hits[-1] if hits else None

        answer = op.peer.wait_for(reported, what="the reported config")
        assert answer["applied"] == {"policy.hold_hours": 48, "fleet.remote_opens_per_hour": 2}
        assert answer["refused"] == {"doors.poll_hz": "not settable remotely"}
        # In force: a parcel stored now is held 48 hours, not the config file's 72.
        store_parcel(daemon, "HELD-48", size="S")
        parcel = daemon.client().get("/v1/parcels")["parcels"][0]
        assert parcel["expires_at"] - parcel["stored_at"] == pytest.approx(48 * 3600, abs=5)
        op.peer.publish(f"{TOPIC}/config/desired", b"", retain=True)  # clear it for others


def test_a_consumer_that_lost_events_gets_them_again_on_a_signed_resend(
    broker: Broker, operator_key: Any, tmp_path: Path
) -> None:
    key, keyring = operator_key
    with (
        operator(broker, key, keyring, f"{TOPIC}/#") as op,
        linked_kiosk(broker, KIOSK, keyring, tmp_path) as daemon,
    ):
        store_parcel(daemon, "RESEND-1", size="S")
        daemon.wait_for(lambda: daemon.client().get("/v1/status")["fleet"]["unacked"] == 0,
                        what="all acknowledged")  # fmt: skip
        last = daemon.events()[-1]["seq"]
        before = len(op.peer.bodies("events"))
        envelope = op.command(KIOSK, "resend_events", args={"from_seq": 2})
        op.send(KIOSK, envelope)
        answer = op.peer.wait_for(lambda: op.peer.bodies("results"), what="the answer")[-1]
        assert answer["ok"] is True and answer["message"].startswith("Events 2 to ")

        # Events the kiosk logs meanwhile (a door closing after the deposit) are sent as
        # usual beside the resend: the resent ones are those up to ``last``.
        def resent() -> list[int]:
            return [e["seq"] for e in op.peer.bodies("events")[before:] if e["seq"] <= last]

        op.peer.wait_for(lambda: len(resent()) >= last - 1, what="the events again")
        assert resent()[: last - 1] == list(range(2, last + 1))
        assert daemon.client().get("/v1/status")["fleet"]["unacked"] == 0


def test_the_state_lists_each_compartment_and_a_stored_parcel_carries_its_deadline(
    broker: Broker, operator_key: Any, tmp_path: Path
) -> None:
    key, keyring = operator_key
    with (
        operator(broker, key, keyring, f"{TOPIC}/#") as op,
        linked_kiosk(broker, KIOSK, keyring, tmp_path) as daemon,
    ):
        first = op.peer.wait_for(lambda: op.peer.bodies("state/compartments"), what="state")[-1]
        walls = first["compartments"]
        assert [c["id"] for c in walls] == [f"A{i:02d}" for i in range(1, 13)]
        assert walls[0] == {
            "id": "A01",
            "size": "S",
            "state": "AVAILABLE",
            "door": "CLOSED",
            "accessible": False,
            "held": False,
            "board_online": True,
        }
        assert walls[9]["accessible"] is True  # A10

        cid, _code = store_parcel(daemon, "JJD0002", size="L")

        def occupied() -> bool:
            latest = op.peer.bodies("state/compartments")[-1]["compartments"]
            return any(c["id"] == cid and c["state"] == "OCCUPIED" for c in latest)

        op.peer.wait_for(occupied, what=f"{cid} occupied on the wall")
        stored = op.peer.wait_for(
            lambda: [e for e in op.peer.bodies("events") if e["kind"] == "parcel_stored"],
            what="the parcel_stored event",
        )[-1]
        parcels = daemon.client().get("/v1/parcels")["parcels"]
    (parcel,) = [p for p in parcels if p["barcode"] == "JJD0002"]
    assert stored["detail"]["size"] == "L"
    assert stored["detail"]["expires_at"] == parcel["expires_at"]
    assert stored["detail"]["expires_at"] > stored["ts"] + 71 * 3600  # policy.hold_hours 72
