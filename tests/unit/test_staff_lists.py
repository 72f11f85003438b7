"""Staff lists on their own: the seal, the message, what the kiosk keeps and who signs in.

Real scrypt, real X25519 and ChaCha20-Poly1305, a real store; a kiosk core with injected
clocks where a sign-in is involved. The journeys through a real daemon and broker are in
tests/fleet/test_staff.py and tests/office/test_staff_journeys.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import threading
import zlib
from pathlib import Path

import pytest

from kiosk.access import pins
from kiosk.access.staff_sync import StaffSync
from kiosk.config.model import SecuritySection
from kiosk.core import Kiosk
from kiosk.domain import Role
from kiosk.errors import AuthError
from kiosk.fleet import messages, sealed
from kiosk.fleet.envelope import CommandRefused, new_key
from kiosk.fleet.staff import read_people
from kiosk.store import Store
from kiosk.store.staff import StaffPerson
from tests.unit.test_pickup_lockout import Clock, make_kiosk

KEY = b"k" * 32
ANNA = ("anna", "583920")
SIGNER = messages.Signer(new_key()[0], "ops-test")


def staff_key(kiosk_key: bytes = KEY) -> str:
    return sealed.public_text(sealed.kiosk_staff_key(kiosk_key))


def central(store: Store, *people: StaffPerson, version: int = 1) -> None:
    store.replace_staff(list(people), version, f"list-{version:08d}")


def anna(pin: str = ANNA[1], role: Role = Role.COURIER) -> StaffPerson:
    entry = messages.StaffEntry(ANNA[0], str(role), messages.pin_verifier(pin, str(role)))
    (person,) = read_people(messages.pack_staff([entry]), KEY)
    return person


# -- the seal -----------------------------------------------------------------------


def test_a_box_opens_for_its_kiosk_and_no_other() -> None:
    box = sealed.seal(staff_key(), b"the people", "KIOSK-1")
    mine = sealed.kiosk_staff_key(KEY)
    assert sealed.open_box(mine, box, "KIOSK-1") == b"the people"
    with pytest.raises(sealed.SealError):
        sealed.open_box(sealed.kiosk_staff_key(b"o" * 32), box, "KIOSK-1")
    with pytest.raises(sealed.SealError):
        sealed.open_box(mine, box, "KIOSK-2")  # lifted into another kiosk's message
    changed = bytearray(base64.b64decode(box))
    changed[-1] ^= 1
    with pytest.raises(sealed.SealError):
        sealed.open_box(mine, base64.b64encode(bytes(changed)).decode(), "KIOSK-1")


def test_a_staff_key_that_is_not_one_is_refused_saying_why() -> None:
    for text, why in (("not base64!", "base64"), ("AAAA", "32 bytes")):
        with pytest.raises(ValueError, match=why):
            messages.check_staff_key(text)
    assert messages.check_staff_key(f" {staff_key()}\n") == staff_key()


# -- the message --------------------------------------------------------------------


def test_a_verifier_in_a_list_checks_the_pin_it_was_made_of_and_no_other() -> None:
    person = anna()
    assert person.pin_hash is not None
    assert pins.verify_pin(ANNA[1], person.pin_hash)
    assert not pins.verify_pin("583921", person.pin_hash)


def test_the_office_refuses_a_pin_the_kiosk_would_refuse_without_repeating_it() -> None:
    for pin, role, why in (("58392", "courier", "6 to 12 digits"),
                           ("583920", "technician", "8 to 12 digits"),
                           ("123456", "courier", "among the first a guesser tries")):  # fmt: skip
        with pytest.raises(ValueError, match=why) as refused:
            messages.pin_verifier(pin, role)
        assert pin not in str(refused.value)


def test_the_office_asks_for_as_many_digits_as_a_kiosk_does_by_default() -> None:
    defaults = SecuritySection()
    kiosks = {str(r): defaults.pin_digits(r) for r in (Role.COURIER, Role.TECHNICIAN)}
    assert kiosks == messages.STAFF_PIN_DIGITS


def random_verifier() -> str:
    """A verifier as pin_verifier makes one, of some PIN: random salt and hash, which no
    compression shrinks (as a list of real people's)."""
    salt, digest = (base64.b64encode(secrets.token_bytes(n)).decode() for n in (16, 32))
    return f"scrypt$16384$8$1${salt}${digest}"


def test_a_list_too_large_for_one_message_is_refused_with_its_count() -> None:
    many = [messages.StaffEntry(f"courier-{i:05d}", "courier", random_verifier())
            for i in range(2000)]  # fmt: skip
    with pytest.raises(ValueError, match=r"KIOSK-1 \(2000 people\)"):
        messages.staff_list(SIGNER, "KIOSK-1", staff_key(), many)
    fits = messages.staff_list(SIGNER, "KIOSK-1", staff_key(), many[:600])
    assert fits.retain and fits.topic == "lk/v1/kiosk/KIOSK-1/staff"


@pytest.mark.parametrize(
    ("rows", "why"),
    [
        ([["anna", "courier", None, None], ["ANNA", "courier", None, None]], "twice"),
        ([["anna", "driver", None, None]], "courier or technician"),
        ([["an na", "courier", None, None]], "keyboard"),
        ([["anna", "courier", "md5$abc", None]], "not a verifier"),
        ([["anna", "courier", None, "B1"], ["bea", "courier", None, "B1"]], "badge is given"),
        ([["anna", "courier"]], r"not \[name, role, pin, badge\]"),
    ],
)
def test_people_the_kiosk_cannot_take_are_refused_naming_the_first(rows: list, why: str) -> None:
    packed = zlib.compress(json.dumps({"people": rows}).encode())
    with pytest.raises(CommandRefused, match=why) as refused:
        read_people(packed, KEY)
    assert refused.value.reason == "malformed"


def test_a_list_that_inflates_past_a_megabyte_is_refused() -> None:
    bomb = zlib.compress(b'{"people": [' + b" " * 5_000_000 + b"]}")
    with pytest.raises(CommandRefused, match="larger than"):
        read_people(bomb, KEY)


# -- what the kiosk keeps -------------------------------------------------------------


def test_a_new_list_says_who_came_who_changed_and_who_is_gone(tmp_path: Path) -> None:
    store = Store(tmp_path / "kiosk.db")
    bea = StaffPerson("bea", Role.COURIER, None, None)
    central(store, anna(), bea, version=1)
    theo = StaffPerson("theo", Role.TECHNICIAN, None, None)
    diff = store.replace_staff([anna(pin="714290"), theo], 2, "list-00000002")
    assert (diff.added, diff.changed, diff.removed) == (("theo",), ("anna",), ("bea",))
    assert [u.name for u in store.staff()] == ["anna", "theo"]
    assert store.staff_version() == 2


def test_a_local_user_is_who_signs_in_under_a_name_the_list_also_has(tmp_path: Path) -> None:
    store = Store(tmp_path / "kiosk.db")
    store.add_user("Anna", Role.COURIER, pins.hash_pin("904173"), pins.badge_tag(KEY, "B-L"))
    badge = pins.badge_tag(KEY, "B-C")
    central(store, StaffPerson("anna", Role.TECHNICIAN, None, badge))
    found = store.person_by_name("ANNA")
    assert found is not None and (found.source, found.role) == ("local", Role.COURIER)
    assert store.person_by_badge(badge) is None, "the central badge names nobody here"
    assert store.person_by_badge(pins.badge_tag(KEY, "B-L")) == found


# -- who signs in ---------------------------------------------------------------------


@pytest.fixture
def kiosk(tmp_path: Path) -> Kiosk:
    return make_kiosk(tmp_path / "kiosk.db", Clock(1_700_000_000.0), Clock(5_000.0))


def test_someone_of_the_list_signs_in_and_their_session_says_where_they_came_from(
    kiosk: Kiosk,
) -> None:
    central(kiosk.store, anna())
    session = asyncio.run(kiosk.sign_in(ANNA[1], ANNA[0]))
    assert (session.user, session.role, session.source) == ("anna", Role.COURIER, "central")
    (signed,) = [e for e in kiosk.store.events(limit=50) if e.kind == "signed_in"]
    assert signed.detail == {"role": "courier", "source": "central"}


def test_a_list_applied_while_the_pin_is_checked_refuses_the_person_it_revoked(
    kiosk: Kiosk, monkeypatch: pytest.MonkeyPatch
) -> None:
    central(kiosk.store, anna())
    checking, revoked = threading.Event(), threading.Event()
    check = kiosk._pin_matches

    def slow_check(found: object, pin: str) -> bool:
        checking.set()
        revoked.wait(10)
        return check(found, pin)  # type: ignore[arg-type]

    monkeypatch.setattr(kiosk, "_pin_matches", slow_check)

    async def journey() -> None:
        signing_in = asyncio.ensure_future(kiosk.sign_in(ANNA[1], ANNA[0]))
        await asyncio.to_thread(checking.wait, 10)
        central(kiosk.store, version=2)  # the revocation lands now
        revoked.set()
        with pytest.raises(AuthError):
            await signing_in

    asyncio.run(journey())
    assert kiosk.sessions.end_for(["anna"], "central") == 0, "no session was made"


def test_a_revocation_ends_the_sessions_of_the_list_and_no_local_one(kiosk: Kiosk) -> None:
    kiosk.store.add_user("carla", Role.COURIER, pins.hash_pin("246813"), None)
    central(kiosk.store, anna())
    theirs = asyncio.run(kiosk.sign_in(ANNA[1], ANNA[0]))
    local = asyncio.run(kiosk.sign_in("246813", "carla"))
    assert kiosk.end_sessions_of(["anna", "carla"]) == 1
    with pytest.raises(AuthError):
        kiosk.session(theirs.token)
    assert kiosk.session(local.token).user == "carla"


# -- the wait after a reconnect --------------------------------------------------------


def test_a_sign_in_after_a_reconnect_waits_for_the_list_and_goes_on_once_it_is_handled() -> None:
    async def journey() -> list[str]:
        sync = StaffSync(True, wait_s=30.0, has_list=lambda: True)
        sync.link_up()
        said: list[str] = []
        waiting = asyncio.ensure_future(sync.ready())
        await asyncio.sleep(0)
        said.append("waiting" if not waiting.done() else "went on")
        sync.confirmed()
        await waiting
        said.append(sync.state)
        return said

    assert asyncio.run(journey()) == ["waiting", "synced"]


def test_nothing_waits_offline_without_a_list_or_without_a_link() -> None:
    async def states() -> list[bool]:
        offline = StaffSync(True, 30.0, lambda: True)
        offline.link_down()
        no_list = StaffSync(True, 30.0, lambda: False)
        no_link = StaffSync(False, 30.0, lambda: True)
        went_on = []
        for sync in (offline, no_list, no_link):
            task = asyncio.ensure_future(sync.ready())
            await asyncio.sleep(0)
            went_on.append(task.done())
        return went_on

    assert asyncio.run(states()) == [True, True, True]


def test_a_list_that_never_comes_leaves_the_kiosk_signing_in_with_its_own() -> None:
    async def journey() -> str:
        sync = StaffSync(True, wait_s=0.05, has_list=lambda: True)
        await sync.ready()
        return sync.state

    assert asyncio.run(journey()) == "unconfirmed"
