"""The operator's staff lists at a real kiosk: who signs in, who is refused, and what the
network cannot change.

A real daemon on the simulator, a real Mosquitto run from the shipped config; the
operator's lists are built, sealed and signed by ``kiosk.fleet.messages`` with the
kiosk's staff key as ``locker-kiosk users staff-key`` prints it. What a person sees is
checked: a sign-in accepted or refused, a session that ends, the kiosk's events and its
``users list``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.fleet import messages, sealed
from kiosk.fleet.envelope import new_key, sign
from kiosk.protocol.client import ApiClient, ApiError
from testkit.broker import Broker, running_broker
from testkit.daemon import COURIER, TECHNICIAN, Daemon
from testkit.fleet import KID, USERS, Operator, linked_kiosk, operator
from testkit.mqtt_peer import Peer

KIOSK = "KIOSK-1"
TOPIC = f"lk/v1/kiosk/{KIOSK}"
ANNA = ("anna", "583920")
THEO = ("theo", "70419385")
REFUSED = "Sign-in failed: name, badge or PIN not recognised."
VERIFIERS = {
    ANNA: messages.pin_verifier(ANNA[1], "courier"),
    THEO: messages.pin_verifier(THEO[1], "technician"),
}


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with running_broker(tmp_path / "broker", USERS, persistence=True, verbose=False) as running:
        yield running


@pytest.fixture
def linked(broker: Broker, operator_key: Any, tmp_path: Path) -> Iterator[tuple[Operator, Daemon]]:
    key, keyring = operator_key
    with (
        operator(broker, key, keyring, f"{TOPIC}/#") as op,
        linked_kiosk(broker, KIOSK, keyring, tmp_path) as daemon,
    ):
        wait_connected(daemon)
        yield op, daemon


def wait_connected(daemon: Daemon) -> None:
    daemon.wait_for(lambda: daemon.client().get("/v1/status")["fleet"]["state"] == "connected",
                    what="the link")  # fmt: skip


def staff_key(daemon: Daemon) -> str:
    """The kiosk's staff key, as the operator registers it from the kiosk's own command."""
    done = daemon.kiosk_cmd("users", "--config", str(daemon.config_path), "staff-key")
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[-1]


def courier(who: tuple[str, str]) -> messages.StaffEntry:
    verifier = VERIFIERS.get(who) or messages.pin_verifier(who[1], "courier")
    return messages.StaffEntry(who[0], "courier", verifier)


def send(op: Operator, daemon: Daemon, people: list[messages.StaffEntry], **kw: Any) -> dict:
    return op.ask(messages.staff_list(op.signer, KIOSK, staff_key(daemon), people, **kw))


def sign_in(daemon: Daemon, who: tuple[str, str]) -> ApiClient:
    client = daemon.client()
    client.sign_in(who[1], user=who[0])
    return client


def refusal(daemon: Daemon, who: tuple[str, str]) -> str:
    """What the kiosk says to ``who`` signing in (they are expected to be refused)."""
    with pytest.raises(ApiError) as refused:
        sign_in(daemon, who)
    return refused.value.message


def kinds(daemon: Daemon) -> list[str]:
    return [e["kind"] for e in daemon.events()]


def people(daemon: Daemon) -> list[tuple[str, str, bool]]:
    tech = sign_in(daemon, TECHNICIAN)
    return [(p["name"], p["source"], p["in_force"]) for p in tech.get("/v1/users")["users"]]


def test_a_courier_on_the_staff_list_signs_in_and_once_revoked_is_signed_out_and_refused(
    linked: Any,
) -> None:
    op, daemon = linked
    first = send(op, daemon, [courier(ANNA), messages.StaffEntry("theo", "technician")])
    assert first["ok"] is True, first
    assert (first["result"]["added"], first["result"]["revoked"]) == (["anna", "theo"], [])

    anna = sign_in(daemon, ANNA)
    assert anna.get("/v1/deposits/lookup", barcode="JJD-STAFF-1")  # a courier's own request
    assert refusal(daemon, THEO) == REFUSED, "no PIN chosen yet: nobody signs in with it"

    revoked = send(op, daemon, [messages.StaffEntry("theo", "technician")])
    assert revoked["result"]["revoked"] == ["anna"]
    with pytest.raises(ApiError) as ended:
        anna.get("/v1/deposits/lookup", barcode="JJD-STAFF-1")
    assert ended.value.status == 401, "her session ended with the list"
    assert refusal(daemon, ANNA) == REFUSED
    (gone,) = daemon.events("staff_revoked")
    assert (gone["detail"]["user"], gone["actor"]) == ("anna", f"fleet:{KID}")
    assert kinds(daemon).count("staff_updated") == 2
    assert sign_in(daemon, COURIER).token, "local users sign in as before"


def test_a_forged_replayed_or_older_staff_list_changes_nothing(linked: Any, broker: Broker) -> None:
    op, daemon = linked
    key = staff_key(daemon)
    real = messages.staff_list(op.signer, KIOSK, key, [courier(ANNA)], version=2_000)
    assert op.ask(real)["ok"] is True
    thief, _ = new_key()
    other_kiosk = sealed.public_text(sealed.kiosk_staff_key(b"k" * 32))
    box = sealed.seal(key, messages.pack_staff([]), KIOSK)  # an empty list, sealed right
    emptied = {"version": 3000, "sealed": box}
    forged = {
        "unsigned": b'{"kiosk": "KIOSK-1", "command": "staff_list", "args": {"version": 3000}}',
        "bad_signature": sign(thief, KID, KIOSK, "staff_list", emptied, 86400),
        "unknown_key": sign(thief, "thief", KIOSK, "staff_list", emptied, 86400),
        "wrong_kiosk": messages.staff_list(
            op.signer, "KIOSK-2", other_kiosk, [], version=3000
        ).payload,
        "stale": messages.staff_list(op.signer, KIOSK, key, [], version=1_000).payload,
    }
    intruder = Peer(broker, "operator", USERS["operator"])
    try:
        for raw in forged.values():
            intruder.publish(f"{TOPIC}/staff", raw)
        intruder.publish(real.topic, real.payload)  # the operator's own list, once more
        daemon.wait_for(lambda: len(daemon.events("staff_update_refused")) == len(forged),
                        what="every refusal")  # fmt: skip
    finally:
        intruder.close()
    reasons = [e["detail"]["reason"] for e in daemon.events("staff_update_refused")]
    assert reasons == list(forged)
    assert kinds(daemon).count("staff_updated") == 1, "the copy was a replay: nothing again"
    assert "staff_revoked" not in kinds(daemon)
    assert sign_in(daemon, ANNA).token, "anna signs in as before"
    assert ("anna", "central", True) in people(daemon)


def test_a_list_sealed_for_another_kiosk_is_refused_and_the_people_stay(linked: Any) -> None:
    op, daemon = linked
    assert send(op, daemon, [courier(ANNA)])["ok"] is True
    other_kiosk = sealed.public_text(sealed.kiosk_staff_key(b"k" * 32))
    wrong = op.ask(messages.staff_list(op.signer, KIOSK, other_kiosk, []))
    assert (wrong["ok"], wrong["reason"]) == (False, "malformed")
    assert "cannot be opened" in wrong["message"]
    assert sign_in(daemon, ANNA).token


def test_a_kiosk_offline_keeps_signing_in_the_staff_it_last_received(
    linked: Any, broker: Broker
) -> None:
    op, daemon = linked
    assert send(op, daemon, [courier(ANNA), courier(("bea", "642097"))])["ok"] is True
    broker.stop()
    daemon.wait_for(lambda: daemon.client().get("/v1/status")["fleet"]["state"] == "down",
                    what="the link down")  # fmt: skip
    assert sign_in(daemon, ANNA).token
    daemon.stop()  # and after a restart with no network at all
    daemon.start()
    assert sign_in(daemon, ANNA).token
    assert daemon.client().get("/v1/status")["fleet"]["staff"]["version"] > 0


def test_users_work_without_a_network_and_a_local_user_wins_a_name_clash(
    linked: Any, broker: Broker
) -> None:
    op, daemon = linked
    carla_central = ("carla", "905318")  # the local courier carla has another PIN
    shadowed = send(op, daemon, [courier(ANNA), courier(carla_central)])
    assert shadowed["result"]["shadowed"] == ["carla"]
    broker.stop()
    cfg = str(daemon.config_path)

    def users(*args: str, stdin: str = "") -> Any:
        return daemon.kiosk_cmd("users", "--config", cfg, *args, stdin=stdin)

    added = users("add", "nils", "--role", "courier", "--pin-stdin", stdin="318406\n")
    assert added.returncode == 0, added.stderr
    listing = [line.split() for line in users("list").stdout.splitlines()]
    assert listing[:3] == [
        ["anna", "courier", "central"],
        ["carla", "courier", "local"],
        ["carla", "courier", "central", "shadowed:", "the", "local", "user", "of", "this",
         "name", "signs", "in", "here"],
    ]  # fmt: skip
    assert ["nils", "courier", "local"] in listing
    assert sign_in(daemon, ("nils", "318406")).token, "added offline, signs in at once"
    assert sign_in(daemon, COURIER).get("/v1/deposits/lookup", barcode="X")
    assert refusal(daemon, carla_central) == REFUSED, "the central PIN is not carla's here"
    assert ("carla", "central", False) in people(daemon)
    not_local = users("remove", "anna")
    assert not_local.returncode == 1
    assert "on the operator's staff list, not a local user" in not_local.stderr
    assert users("remove", "nils").returncode == 0


def test_the_staff_key_the_kiosk_prints_is_the_one_its_api_shows(linked: Any) -> None:
    _op, daemon = linked
    shown = sign_in(daemon, TECHNICIAN).get("/v1/users")["staff"]
    assert shown["key"] == staff_key(daemon)
    assert shown["sync"]["state"] in ("synced", "pending", "unconfirmed")


def test_a_kiosk_that_takes_couriers_alone_leaves_a_listed_technician_out(
    broker: Broker, operator_key: Any, tmp_path: Path
) -> None:
    # A stolen operator key could list a technician with a PIN of its own choosing; a
    # kiosk whose technicians are all local takes no technician from the network.
    key, keyring = operator_key
    with (
        operator(broker, key, keyring, f"{TOPIC}/#") as op,
        linked_kiosk(broker, KIOSK, keyring, tmp_path, staff_roles=["courier"]) as daemon,
    ):
        wait_connected(daemon)
        theo = messages.StaffEntry(THEO[0], "technician", VERIFIERS[THEO])
        answer = send(op, daemon, [courier(ANNA), theo])
        assert answer["ok"] is True, answer
        assert answer["result"]["role_not_taken"] == ["theo"]
        assert "fleet.staff_roles" in answer["message"]
        assert refusal(daemon, THEO) == REFUSED, "the technician from the network signs in nowhere"
        assert sign_in(daemon, ANNA).token, "the courier on the same list does"
        (updated,) = daemon.events("staff_updated")
        assert updated["detail"]["role_not_taken"] == ["theo"]
        assert [name for name, _, _ in people(daemon)].count("theo") == 0
