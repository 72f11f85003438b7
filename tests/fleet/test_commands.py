"""Signed remote commands, end to end: what a kiosk does, and refuses, from its network.

A real daemon on the simulator, a real Mosquitto with the shipped ACL, and the operator
signing commands with the key pinned on the kiosk. The doors are watched through the
simulator: a refused command must not fire any lock.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.fleet.envelope import new_key, sign
from testkit.api import PHONE, store_parcel
from testkit.broker import Broker, running_broker
from testkit.daemon import TECHNICIAN, Daemon
from testkit.fleet import KID, USERS, Operator, linked_kiosk, operator

KIOSK = "KIOSK-2"
TOPIC = f"lk/v1/kiosk/{KIOSK}"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    with running_broker(tmp_path_factory.mktemp("broker"), USERS) as running:
        yield running


@pytest.fixture
def linked(
    broker: Broker, operator_key: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Operator, Daemon]]:
    key, keyring = operator_key
    marker = request.node.get_closest_marker("kiosk_config")
    more = marker.args[0] if marker else {}
    with (
        operator(broker, key, keyring, f"{TOPIC}/results") as op,
        linked_kiosk(
            broker, KIOSK, keyring, tmp_path, more=more.get("sections"), **more.get("fleet", {})
        ) as daemon,
    ):
        daemon.wait_for(lambda: daemon.client().get("/v1/status")["fleet"]["state"] == "connected",
                        what="the link")  # fmt: skip
        time.sleep(0.3)  # its SUBACK
        yield op, daemon


def ask(op: Operator, envelope: bytes) -> dict[str, Any]:
    command_id = json.loads(base64.b64decode(json.loads(envelope)["payload"]))["id"]
    op.send(KIOSK, envelope)
    return op.result(command_id)


def fired(daemon: Daemon) -> int:
    return sum(daemon.sim().fire_counts().values())


def test_a_signed_open_opens_that_door_once_and_a_replay_opens_nothing(linked: Any) -> None:
    op, daemon = linked
    envelope = op.command(KIOSK, "open", args={"compartment": "A04"})
    before = daemon.sim().fire_counts()
    answer = ask(op, envelope)
    assert answer["ok"] is True, answer
    assert answer["message"] == "Door A04 opened."
    assert answer["result"]["compartment"] == "A04" and answer["replayed"] is False
    after = daemon.sim().fire_counts()
    assert {c for c in after if after[c] != before[c]} == {"A04"}

    op.send(KIOSK, envelope)  # the same command again: a replay
    command_id = answer["id"]
    op.peer.wait_for(lambda: len(op.results(command_id)) == 2, what="the replay's answer")
    replay = op.results(command_id)[-1]
    assert replay["replayed"] is True and replay["ok"] is True
    assert replay["message"] == "Door A04 opened."
    assert daemon.sim().fire_counts() == after, "a replay fires nothing"
    kinds = [e["kind"] for e in daemon.events()]
    assert "remote_command" in kinds and "remote_command_replayed" in kinds
    remote = next(e for e in daemon.events() if e["kind"] == "remote_command")
    assert remote["actor"] == f"fleet:{KID}" and remote["compartment"] == "A04"


def test_every_bad_envelope_is_refused_with_its_reason_and_opens_nothing(linked: Any) -> None:
    op, daemon = linked
    now = time.time()
    stranger, _ = new_key()
    good = op.command(KIOSK, "open", args={"compartment": "A01"})
    unsigned = json.loads(good)
    unsigned["sig"] = ""
    forged = json.loads(op.command(KIOSK, "open", args={"compartment": "A01"}))
    body = json.loads(base64.b64decode(forged["payload"]))
    body["args"]["compartment"] = "A02"  # changed after signing
    forged["payload"] = base64.b64encode(json.dumps(body).encode()).decode()
    cases = {
        "unsigned": json.dumps(unsigned).encode(),
        "unknown_key": sign(stranger, "someone", KIOSK, "open", {"compartment": "A01"}),
        "bad_signature": json.dumps(forged).encode(),
        "wrong_kiosk": op.command("KIOSK-1", "open", args={"compartment": "A01"}),
        "expired": op.command(KIOSK, "open", args={"compartment": "A01"}, now=now - 400),
        "too_long_lived": op.command(KIOSK, "open", args={"compartment": "A01"}, lifetime_s=3600),
        "never_remote": op.command(KIOSK, "open_all"),
        "unknown_command": op.command(KIOSK, "format_disk"),
    }
    before = fired(daemon)
    for reason, envelope in cases.items():
        answer = ask(op, envelope)
        assert (answer["ok"], answer["reason"]) == (False, reason), answer
        assert answer["message"]
    assert fired(daemon) == before, "no refused command fires a lock"
    refusals = [e for e in daemon.events() if e["kind"] == "remote_command_refused"]
    assert sorted(e["detail"]["reason"] for e in refusals) == sorted(cases)


@pytest.mark.kiosk_config({"fleet": {"remote_opens_per_hour": 2}})
def test_remote_opens_stop_at_the_hourly_cap(linked: Any) -> None:
    op, daemon = linked
    for cid in ("A01", "A02"):
        assert ask(op, op.command(KIOSK, "open", args={"compartment": cid}))["ok"] is True
    before = fired(daemon)
    third = ask(op, op.command(KIOSK, "open", args={"compartment": "A03"}))
    assert (third["ok"], third["reason"]) == (False, "hourly_cap")
    assert "at most 2 remote opens an hour" in third["message"]
    assert fired(daemon) == before
    # A technician at the kiosk is not held by the remote cap.
    tech = daemon.signed_in(TECHNICIAN)
    assert tech.wait_operation(tech.post("/v1/compartments/A03/open")["operation"])["status"]


@pytest.mark.kiosk_config({"fleet": {"remote_opens_per_hour": 2}})
def test_a_restart_of_the_daemon_gives_no_fresh_allowance_of_remote_opens(linked: Any) -> None:
    op, daemon = linked
    for cid in ("A01", "A02"):
        assert ask(op, op.command(KIOSK, "open", args={"compartment": cid}))["ok"] is True
    daemon.stop()
    daemon.start()
    daemon.wait_for(lambda: daemon.client().get("/v1/status")["fleet"]["state"] == "connected",
                    what="the link again")  # fmt: skip
    time.sleep(0.3)  # its SUBACK
    before = fired(daemon)
    third = ask(op, op.command(KIOSK, "open", args={"compartment": "A03"}))
    assert (third["ok"], third["reason"]) == (False, "hourly_cap")
    assert fired(daemon) == before


@pytest.mark.kiosk_config({"sections": {"security": {"mass_open_max": 2}}})
def test_the_mass_open_guard_stops_remote_opens_too(linked: Any) -> None:
    op, daemon = linked
    _cid, code = store_parcel(daemon, "GUARD-1", size="S")  # one open: the deposit
    customer = daemon.client()
    customer.wait_operation(customer.post("/v1/pickup", {"code": code})["operation"])  # two
    before = fired(daemon)
    answer = ask(op, op.command(KIOSK, "open", args={"compartment": "A05"}))
    assert (answer["ok"], answer["reason"]) == (False, "guard_tripped")
    assert "paused opening doors" in answer["message"]
    assert fired(daemon) == before


def test_a_remote_selftest_reads_every_board_and_sensor_and_opens_nothing(linked: Any) -> None:
    op, daemon = linked
    before = fired(daemon)
    answer = ask(op, op.command(KIOSK, "selftest"))
    assert answer["ok"] is True
    assert answer["message"] == "Self-test passed. (No door was opened.)"
    result = answer["result"]
    assert result["passed"] is True and result["boards"] == {"bank": True}
    assert set(result["doors"]) == {f"A{i:02d}" for i in range(1, 13)}
    assert fired(daemon) == before


def test_out_of_service_and_back_and_an_announcement_cancelled_remotely(linked: Any) -> None:
    op, daemon = linked
    answer = ask(op, op.command(KIOSK, "out_of_service",
                                args={"compartment": "A06", "reason": "hinge broken"}))  # fmt: skip
    assert answer["ok"] is True and answer["message"] == "Compartment A06 is out of service."
    view = {c["id"]: c for c in daemon.client().get("/v1/compartments")["compartments"]}
    assert (view["A06"]["state"], view["A06"]["reason"]) == ("OUT_OF_SERVICE", "hinge broken")
    back = ask(op, op.command(KIOSK, "in_service", args={"compartment": "A06"}))
    assert back["ok"] is True
    assert daemon.client().get("/v1/compartments")["compartments"][5]["state"] == "AVAILABLE"

    courier = daemon.signed_in()
    courier.post("/v1/announcements", {"barcode": "CANCEL-ME", "size": "S", "phone": PHONE})
    _stored_cid, _code = store_parcel(daemon, "ALREADY-IN", size="S")
    gone = ask(op, op.command(KIOSK, "cancel_announcement", args={"barcode": "CANCEL-ME"}))
    assert gone["ok"] is True
    inside = ask(op, op.command(KIOSK, "cancel_announcement", args={"barcode": "ALREADY-IN"}))
    assert (inside["ok"], inside["reason"]) == (False, "refused")
    assert inside["message"] == "parcel ALREADY-IN is already in the kiosk"
    unknown = ask(op, op.command(KIOSK, "out_of_service", args={"compartment": "Z99"}))
    assert (unknown["ok"], unknown["reason"]) == (False, "refused")


def test_a_parcels_hold_is_extended_remotely_up_to_the_limit(linked: Any) -> None:
    op, daemon = linked
    store_parcel(daemon, "HOLD-ME", size="S")
    (before,) = daemon.client().get("/v1/parcels")["parcels"]
    answer = ask(op, op.command(KIOSK, "extend", args={"barcode": "HOLD-ME", "hours": 24}))
    assert answer["ok"] is True and answer["message"] == "Parcel HOLD-ME is held 24 h longer."
    assert answer["result"]["expires_at"] == pytest.approx(before["expires_at"] + 24 * 3600)
    (after,) = daemon.client().get("/v1/parcels")["parcels"]
    assert after["expires_at"] == pytest.approx(before["expires_at"] + 24 * 3600)
    too_much = ask(op, op.command(KIOSK, "extend", args={"barcode": "HOLD-ME", "hours": 100}))
    assert (too_much["ok"], too_much["reason"]) == (False, "refused")
    assert "72" in too_much["message"]
    (unchanged,) = daemon.client().get("/v1/parcels")["parcels"]
    assert unchanged["expires_at"] == after["expires_at"]
