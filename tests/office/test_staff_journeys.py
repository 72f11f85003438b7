"""Staff managed centrally, end to end: the office, a real broker, real kiosks.

Mosquitto from the shipped config, ``locker-office serve`` as a process of its own and
``locker-office staff`` as the operator types it, on SQLite and on PostgreSQL; a kiosk
daemon on the simulator, linked to the broker through a path the test can cut. What a
person sees is checked: the courier's sign-in accepted or refused at the kiosk, her
session ending, the parcel she stored, the kiosk's events, the office's record.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from kiosk.protocol.client import ApiClient, ApiError
from testkit.api import store_parcel
from testkit.broker import Broker
from testkit.cut import Path as CutPath
from testkit.cut import cuttable
from testkit.daemon import TECHNICIAN, Daemon, running_daemon
from testkit.fleet import USERS, fleet_section
from testkit.mqtt_peer import Peer
from testkit.office import OfficeProcess, running_office, write_config, write_keys
from tests.office.conftest import Database
from tests.office.journeys import scalar, wait_for

pytestmark = pytest.mark.slow

KIOSK = "KIOSK-1"
ANNA = ("anna", "907315264813")  # twelve digits: nothing else on the wire looks like it
REFUSED = "Sign-in failed: name, badge or PIN not recognised."
REVOCATION_S = 10.0


@contextmanager
def network(
    database: Database, broker: Broker, tmp_path: Path, **fleet: Any
) -> Iterator[tuple[OfficeProcess, Daemon, CutPath]]:
    """The office serving, a kiosk linked through a cuttable path (``fleet``: more of
    its [fleet] section), and the kiosk registered at the office with the staff key it
    prints, at the site ``mitte``."""
    _key, key_file, keyring = write_keys(tmp_path)
    config = write_config(tmp_path, broker, database.url, key_file)
    with (
        running_office(config) as office,
        cuttable(broker.host, broker.port) as path,
        kiosk_through(path, broker, keyring, tmp_path, **fleet) as kiosk,
    ):
        wait_linked(kiosk)
        key = kiosk.kiosk_cmd("users", "--config", str(kiosk.config_path), "staff-key")
        said = staff(office, "register", KIOSK, "--key", key.stdout.split()[-1], "--site", "mitte")
        assert said.startswith(f"{KIOSK}: registered"), said
        yield office, kiosk, path


@contextmanager
def kiosk_through(
    path: CutPath, broker: Broker, keyring: Path, folder: Path, **more: Any
) -> Iterator[Daemon]:
    """A kiosk daemon whose link reaches the broker through ``path``."""
    fleet = {**fleet_section(broker, KIOSK, keyring, folder, **more),
             "broker": f"127.0.0.1:{path.port}"}  # fmt: skip
    with running_daemon(sections={"kiosk": {"id": KIOSK}, "fleet": fleet}) as kiosk:
        yield kiosk


def staff(office: OfficeProcess, *args: str, stdin: str = "") -> str:
    """``locker-office staff ...`` as the operator types it; what it printed."""
    done = office.office("staff", *args, stdin=stdin)
    assert done.returncode == 0, done.stderr
    return done.stdout


def enrolled(office: OfficeProcess, who: tuple[str, str], *where: str) -> str:
    """A courier added and enrolled, as the admin and then the courier do it."""
    added = staff(office, "add", who[0], "--role", "courier", *where)
    (code,) = re.findall(r"enrolment code for \w+: (\d{4}-\d{4}-\d{4})", added)
    said = staff(office, "enrol", who[0], "--stdin", stdin=f"{code}\n{who[1]}\n")
    assert said.startswith(f"{who[0]}: PIN set; staff lists signed for 1 kiosk(s)"), said
    return added + said


def wait_linked(kiosk: Daemon) -> None:
    wait_for(lambda: fleet(kiosk)["state"] == "connected", 30, "the kiosk's link")


def fleet(kiosk: Daemon) -> dict[str, Any]:
    return kiosk.client().get("/v1/status")["fleet"]  # type: ignore[no-any-return]


def knows(kiosk: Daemon, name: str) -> bool:
    """The kiosk lists ``name`` among its people, with a PIN (a technician looks)."""
    tech = kiosk.client()
    tech.sign_in(TECHNICIAN[1], user=TECHNICIAN[0])
    return any(p["name"] == name and p["pin_set"] for p in tech.get("/v1/users")["users"])


def sign_in(kiosk: Daemon, who: tuple[str, str]) -> ApiClient:
    client = kiosk.client()
    client.sign_in(who[1], user=who[0])
    return client


def refused(kiosk: Daemon, who: tuple[str, str]) -> str:
    with pytest.raises(ApiError) as said:
        sign_in(kiosk, who)
    return said.value.message


def session_ended(client: ApiClient) -> bool:
    try:
        client.get("/v1/deposits/lookup", barcode="JJD-STAFF")
    except ApiError as exc:
        return exc.status == 401
    return False


def test_a_courier_created_in_the_office_signs_in_and_once_revoked_is_refused_within_10_s(
    database: Database, broker: Broker, tmp_path: Path
) -> None:
    wire = Peer(broker, "operator", USERS["operator"])
    wire.subscribe("lk/v1/#")
    try:
        with network(database, broker, tmp_path) as (office, kiosk, _path):
            printed = enrolled(office, ANNA, "--site", "mitte")
            wait_for(lambda: knows(kiosk, "anna"), REVOCATION_S, "anna at the kiosk")
            anna = sign_in(kiosk, ANNA)
            store_parcel(kiosk, "JJD-ANNA-1", courier=anna)

            asked = time.monotonic()
            printed += staff(office, "revoke", "anna", "--why", "left the company")
            left = REVOCATION_S - (time.monotonic() - asked)
            wait_for(lambda: session_ended(anna), left, "anna's session to end")
            assert refused(kiosk, ANNA) == REFUSED
            assert time.monotonic() - asked < REVOCATION_S, "refused within 10 s"

            answered = wait_for(lambda: _answer(database), 30, "the kiosk's answer")
            assert answered["revoked"] == ["anna"]
            parcel = kiosk.client().get("/v1/parcels")["parcels"][0]
            assert (parcel["barcode"], parcel["courier"]) == ("JJD-ANNA-1", "anna")
            seen_by_kiosk = kiosk.log() + json.dumps(kiosk.events())
            kiosk_db = (kiosk.data_dir / "kiosk.db").read_bytes()
            office_log = office.log()
        office_db = _office_rows(database)
        wire_text = _everything_on_the_wire(wire)
    finally:
        wire.close()
    pin = ANNA[1]
    looked_at = {
        "the office's output": printed,
        "the kiosk's log and events": seen_by_kiosk,
        "the office's log": office_log,
        "the office's database": office_db,
        "the broker": wire_text,
    }
    for where, text in looked_at.items():
        assert pin not in text, f"the PIN is in {where}"
    assert pin.encode() not in kiosk_db
    actions = scalar(database.engine, "SELECT count(*) FROM console_audit WHERE action IN "
                     "('staff_added', 'staff_enrolled', 'staff_revoked')")  # fmt: skip
    assert actions == 3


@pytest.mark.parametrize(
    "session_expiry_s",
    [604_800, 1],
    ids=["back-within-its-session", "back-after-the-broker-dropped-its-session"],
)
def test_a_kiosk_away_applies_the_revocation_before_the_first_sign_in_after_it_is_back(
    database: Database, broker: Broker, tmp_path: Path, session_expiry_s: int
) -> None:
    """Within its session the broker queued the new list for the kiosk; past it (a week
    by default) only the retained list is there, sent after the kiosk subscribes: the
    sign-in waits for it."""
    with network(database, broker, tmp_path, session_expiry_s=session_expiry_s) as (
        office,
        kiosk,
        path,
    ):
        enrolled(office, ANNA, "--kiosk", KIOSK)
        wait_for(lambda: knows(kiosk, "anna"), REVOCATION_S, "anna at the kiosk")

        path.cut()  # the kiosk's network is gone; the broker and the office stay
        wait_for(lambda: fleet(kiosk)["state"] == "down", 30, "the link down")
        anna = sign_in(kiosk, ANNA)  # offline, the kiosk signs in with what it has
        store_parcel(kiosk, "JJD-AWAY-1", courier=anna)
        staff(office, "revoke", "anna")  # meanwhile, at the office

        path.mend(latency_s=0.5)  # back on a slow link: the list comes after the CONNACK
        wait_for(lambda: fleet(kiosk)["state"] == "connected", 30, "the link back")
        assert refused(kiosk, ANNA) == REFUSED, "the first sign-in after the reconnect"
        assert session_ended(anna)
        kinds = [(e["kind"], e["detail"].get("user")) for e in kiosk.events()]
        back = kinds.index(("fleet_link_up", None), kinds.index(("fleet_link_down", None)))
        after = kinds[back:]
        assert after.index(("staff_revoked", "anna")) < after.index(("sign_in_failed", "anna"))


def _answer(database: Database) -> dict[str, Any] | None:
    """The kiosk's answer to the office's newest staff list, once it came."""
    got = scalar(
        database.engine,
        "SELECT result FROM commands WHERE command = 'staff_list' AND answered_at IS NOT NULL"
        " ORDER BY sent_at DESC LIMIT 1",
    )
    if got is None:
        return None
    result = got if isinstance(got, dict) else json.loads(got)
    return result if result.get("revoked") else None


def _office_rows(database: Database) -> str:
    import sqlalchemy as sa

    out = []
    with database.engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names():
            out += [repr(tuple(r)) for r in conn.execute(sa.text(f'SELECT * FROM "{table}"'))]
    return "\n".join(out)


def _everything_on_the_wire(wire: Peer) -> str:
    """Every message the broker passed, and inside each envelope its payload decoded."""
    texts = []
    for _topic, payload, _retained in list(wire.messages):
        texts.append(payload.decode(errors="replace"))
        try:
            texts.append(base64.b64decode(json.loads(payload)["payload"]).decode())
        except (ValueError, KeyError, TypeError):
            continue
    return "\n".join(texts)
