"""Staff managed centrally, in the office's store: on SQLite and on PostgreSQL.

The office's functions against a real database; what they publish is caught by a
stand-in for the broker that keeps, per topic, what a retained message would leave
(the journeys through a real broker and real kiosks are test_staff_journeys.py). Each
list is opened with the kiosk's own key and read as the kiosk reads it.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kiosk.fleet import sealed
from kiosk.fleet.channels import STAFF
from kiosk.fleet.envelope import Keyring, new_key, open_envelope
from kiosk.fleet.messages import Signer
from kiosk.fleet.staff import read_people
from office import staff
from office.ingest.outgoing import CommandSender
from office.staff import Scope, StaffError
from tests.office.conftest import Database

KID = "ops-office"
ACTOR = "cli:admin"
PIN = "583920"


@dataclass
class Broker:
    """What the broker would hold: the last retained message of each topic."""

    retained: dict[str, bytes] = field(default_factory=dict)
    sent: list[str] = field(default_factory=list)
    up: bool = True
    slow_first: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(
        self, topic: str, payload: bytes, timeout_s: float = 10.0, retain: bool = False
    ) -> bool:
        if not self.up:
            return False
        if self.slow_first:
            delay, self.slow_first = self.slow_first, 0.0
            time.sleep(delay)
        with self._lock:
            assert retain, "a staff list is published retained"
            self.retained[topic] = payload
            self.sent.append(topic)
        return True


@dataclass
class Office:
    sender: CommandSender
    broker: Broker
    keyring: Keyring
    kiosk_keys: dict[str, bytes]

    def register(self, kiosk: str, site: str | None = None) -> None:
        key = bytes([len(self.kiosk_keys) + 1]) * 32
        self.kiosk_keys[kiosk] = key
        public = sealed.public_text(sealed.kiosk_staff_key(key))
        staff.register_kiosk(self.sender, kiosk, public, actor=ACTOR, site=site)

    def at(self, kiosk: str) -> dict[str, Any]:
        """The list the broker holds for ``kiosk``, as the kiosk reads it."""
        raw = self.broker.retained[f"lk/v1/kiosk/{kiosk}/staff"]
        message = open_envelope(raw, self.keyring, kiosk, STAFF)
        key = sealed.kiosk_staff_key(self.kiosk_keys[kiosk])
        people = read_people(sealed.open_box(key, message.args["sealed"], kiosk),
                             self.kiosk_keys[kiosk])  # fmt: skip
        seen = {p.name: (str(p.role), p.pin_hash is not None) for p in people}
        return {"version": message.args["version"], "people": seen}


@pytest.fixture
def office(database: Database) -> Office:
    key, public = new_key()
    keyring = Keyring({KID: Ed25519PublicKey.from_public_bytes(base64.b64decode(public))})
    broker = Broker()
    return Office(CommandSender(database.engine, broker, Signer(key, KID)), broker, keyring, {})


def audit(database: Database) -> list[tuple[str, str, str | None]]:
    with database.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT actor, action, target FROM console_audit ORDER BY id")
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def dump(database: Database) -> str:
    """Every row of every table of the office, as text."""
    out = []
    with database.engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names():
            out += [repr(tuple(r)) for r in conn.execute(sa.text(f'SELECT * FROM "{table}"'))]
    return "\n".join(out)


def test_a_person_sets_their_own_pin_with_a_one_time_code_and_the_admin_never_sees_it(
    office: Office, database: Database
) -> None:
    office.register("KIOSK-1")
    made = staff.create_staff(office.sender, "anna", "courier", Scope.all(), actor=ACTOR)
    assert made.enrolment is not None and made.member is not None
    code = made.enrolment.code
    assert len(code) == 14 and code.replace("-", "").isdigit()
    assert office.at("KIOSK-1")["people"] == {"anna": ("courier", False)}, "known, no PIN yet"

    with pytest.raises(StaffError, match=r"not the enrolment code for anna \(4 tries left\)"):
        staff.enrol_staff(office.sender, "anna", "0000-0000-0000", PIN)
    with pytest.raises(StaffError, match="among the first a guesser tries") as weak:
        staff.enrol_staff(office.sender, "anna", code, "123456")
    assert "123456" not in str(weak.value)
    enrolled = staff.enrol_staff(office.sender, "anna", code, PIN)
    assert enrolled.member is not None and enrolled.member.pin_set
    assert office.at("KIOSK-1")["people"] == {"anna": ("courier", True)}
    with pytest.raises(StaffError, match="no enrolment is open for 'anna'"):
        staff.enrol_staff(office.sender, "anna", code, "714290")

    assert audit(database) == [
        (ACTOR, "staff_kiosk_registered", "KIOSK-1"),
        (ACTOR, "staff_added", "anna"),
        ("staff:anna", "staff_enrol_refused", "anna"),
        ("staff:anna", "staff_enrolled", "anna"),
    ]
    everything = dump(database)
    assert PIN not in everything and code.replace("-", "") not in everything


def test_a_code_is_void_after_five_wrong_tries(office: Office) -> None:
    made = staff.create_staff(office.sender, "anna", "courier", Scope.all(), actor=ACTOR)
    for _ in range(5):
        with pytest.raises(StaffError):
            staff.enrol_staff(office.sender, "anna", "1111-1111-1111", PIN)
    assert made.enrolment is not None
    with pytest.raises(StaffError, match="no longer valid"):
        staff.enrol_staff(office.sender, "anna", made.enrolment.code, PIN)
    (member,) = staff.list_staff(office.sender.engine)
    assert (member.pin_set, member.enrolment_open_until) == (False, None)


def enrolled(office: Office, name: str, role: str, scope: Scope, pin: str = PIN) -> None:
    made = staff.create_staff(office.sender, name, role, scope, actor=ACTOR)
    assert made.enrolment is not None
    staff.enrol_staff(office.sender, name, made.enrolment.code, pin)


def test_each_kiosk_gets_the_whole_list_of_the_people_allowed_on_it(office: Office) -> None:
    office.register("KIOSK-1", site="mitte")
    office.register("KIOSK-2", site="pankow")
    office.register("KIOSK-3", site="mitte")
    enrolled(office, "anna", "courier", Scope(sites=("mitte",)))
    enrolled(office, "theo", "technician", Scope.all(), pin="70419385")
    enrolled(office, "bea", "courier", Scope(kiosks=("KIOSK-2",)))
    assert office.at("KIOSK-1")["people"] == {"anna": ("courier", True),
                                              "theo": ("technician", True)}  # fmt: skip
    assert set(office.at("KIOSK-2")["people"]) == {"bea", "theo"}
    assert set(office.at("KIOSK-3")["people"]) == {"anna", "theo"}

    before = {k: office.at(k)["version"] for k in ("KIOSK-1", "KIOSK-2", "KIOSK-3")}
    office.broker.sent.clear()
    staff.revoke_staff(office.sender, "anna", actor=ACTOR, why="left the company")
    assert sorted(office.broker.sent) == ["lk/v1/kiosk/KIOSK-1/staff", "lk/v1/kiosk/KIOSK-3/staff"]
    assert set(office.at("KIOSK-1")["people"]) == {"theo"}
    assert office.at("KIOSK-1")["version"] > before["KIOSK-1"]
    assert office.at("KIOSK-2")["version"] == before["KIOSK-2"], "not concerned, not sent"

    names = [m.name for m in staff.list_staff(office.sender.engine, kiosk="KIOSK-2")]
    assert names == ["bea", "theo"]
    everyone = staff.list_staff(office.sender.engine, include_revoked=True)
    assert [(m.name, m.is_revoked) for m in everyone] == [
        ("anna", True), ("bea", False), ("theo", False)]  # fmt: skip


def test_moving_a_person_to_other_kiosks_takes_them_off_the_old_ones(office: Office) -> None:
    office.register("KIOSK-1", site="mitte")
    office.register("KIOSK-2", site="pankow")
    enrolled(office, "anna", "courier", Scope(sites=("mitte",)))
    staff.update_staff(office.sender, "anna", actor=ACTOR, scope=Scope(sites=("pankow",)))
    assert office.at("KIOSK-1")["people"] == {}
    assert office.at("KIOSK-2")["people"] == {"anna": ("courier", True)}


def test_a_new_role_voids_the_pin_and_gives_a_new_code(office: Office) -> None:
    office.register("KIOSK-1")
    enrolled(office, "anna", "courier", Scope.all())
    change = staff.update_staff(office.sender, "anna", actor=ACTOR, role="technician")
    assert change.enrolment is not None
    assert office.at("KIOSK-1")["people"] == {"anna": ("technician", False)}
    with pytest.raises(StaffError, match="8 to 12 digits"):
        staff.enrol_staff(office.sender, "anna", change.enrolment.code, PIN)
    staff.enrol_staff(office.sender, "anna", change.enrolment.code, "70419385")
    assert office.at("KIOSK-1")["people"] == {"anna": ("technician", True)}


def test_names_and_badges_are_one_persons_each(office: Office) -> None:
    staff.create_staff(office.sender, "anna", "courier", Scope.all(), actor=ACTOR, badge="B-1")
    with pytest.raises(StaffError, match="already a courier named anna"):
        staff.create_staff(office.sender, "ANNA", "courier", Scope.all(), actor=ACTOR)
    with pytest.raises(StaffError, match="that badge is anna's"):
        staff.create_staff(office.sender, "bea", "courier", Scope.all(), actor=ACTOR, badge="B-1")
    staff.revoke_staff(office.sender, "anna", actor=ACTOR)
    with pytest.raises(StaffError, match="anna was revoked; a name is not given again"):
        staff.create_staff(office.sender, "anna", "courier", Scope.all(), actor=ACTOR)
    for bad, why in (("jo.e", "keyboard"), ("x" * 33, "keyboard")):
        with pytest.raises(StaffError, match=why):
            staff.create_staff(office.sender, bad, "courier", Scope.all(), actor=ACTOR)
    with pytest.raises(StaffError, match="say where"):
        staff.create_staff(office.sender, "bea", "courier", Scope(), actor=ACTOR)


def test_a_kiosk_with_a_key_that_is_not_one_is_not_registered(office: Office) -> None:
    with pytest.raises(StaffError, match="not a kiosk's staff key"):
        staff.register_kiosk(office.sender, "KIOSK-1", "AAAA", actor=ACTOR)
    assert staff.kiosk_lists(office.sender.engine) == []


def test_the_broker_keeps_the_newest_list_whatever_order_two_changes_publish_in(
    office: Office,
) -> None:
    office.register("KIOSK-1")
    office.broker.slow_first = 0.5  # the first change's list reaches the broker last
    first = threading.Thread(
        target=staff.create_staff, args=(office.sender, "anna", "courier", Scope.all()),
        kwargs={"actor": ACTOR},
    )  # fmt: skip
    first.start()
    time.sleep(0.1)  # the first has recorded its list and is publishing it
    staff.create_staff(office.sender, "bea", "courier", Scope.all(), actor=ACTOR)
    first.join(30)
    newest = office.at("KIOSK-1")
    assert set(newest["people"]) == {"anna", "bea"}
    (listed,) = staff.kiosk_lists(office.sender.engine)
    assert listed.version == newest["version"]


def test_a_list_the_broker_did_not_take_goes_out_later_and_an_old_one_is_signed_again(
    office: Office,
) -> None:
    office.register("KIOSK-1")
    office.broker.up = False
    made = staff.create_staff(office.sender, "anna", "courier", Scope.all(), actor=ACTOR)
    assert [d.published for d in made.deliveries] == [False]
    office.broker.up = True
    (sent,) = staff.publish_pending(office.sender)
    assert (sent.kiosk, sent.published) == ("KIOSK-1", True)
    assert set(office.at("KIOSK-1")["people"]) == {"anna"}
    assert staff.publish_pending(office.sender) == [], "nothing more to send"
    version = office.at("KIOSK-1")["version"]
    (again,) = staff.publish_pending(office.sender, resign_after_s=0)
    assert again.version > version and set(office.at("KIOSK-1")["people"]) == {"anna"}


def test_each_list_is_a_command_with_who_asked_and_why(office: Office, database: Database) -> None:
    office.register("KIOSK-1")
    enrolled(office, "anna", "courier", Scope.all())
    staff.revoke_staff(office.sender, "anna", actor=ACTOR, why="left")
    with database.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT command, asked_by, why, args, published_at FROM commands ORDER BY sent_at"
            )
        ).all()
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("staff_list", ACTOR, "staff"),
        ("staff_list", ACTOR, "staff: anna"),
        ("staff_list", "staff:anna", "staff: anna"),
        ("staff_list", ACTOR, "staff: anna (left)"),
    ]
    args = rows[-1][3] if isinstance(rows[-1][3], dict) else json.loads(rows[-1][3])
    assert set(args) == {"version", "people"} and args["people"] == 0
    assert all(r[4] is not None for r in rows), "each was published"


def test_a_stolen_kiosk_is_unregistered_and_gets_none_of_the_new_pins(office: Office) -> None:
    office.register("KIOSK-1", site="mitte")
    office.register("KIOSK-2", site="mitte")
    enrolled(office, "anna", "courier", Scope(sites=("mitte",)))
    exposed = [m.name for m in staff.list_staff(office.sender.engine, kiosk="KIOSK-1")]
    assert exposed == ["anna"]

    assert staff.unregister_kiosk(office.sender, "KIOSK-1", actor=ACTOR)
    assert office.broker.retained["lk/v1/kiosk/KIOSK-1/staff"] == b"", "nothing kept for it"
    office.broker.sent.clear()
    reset = staff.update_staff(office.sender, "anna", actor=ACTOR, reset_pin=True)
    assert [d.kiosk for d in reset.deliveries] == ["KIOSK-2"]
    assert office.broker.sent == ["lk/v1/kiosk/KIOSK-2/staff"]
    assert [m.name for m in staff.list_staff(office.sender.engine, kiosk="KIOSK-1")] == ["anna"]
    assert not staff.unregister_kiosk(office.sender, "KIOSK-1", actor=ACTOR)
