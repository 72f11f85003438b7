"""The fleet's payload types are the reference: what is built and sent has their shape,
and declaring them changed no byte of what an operator signs."""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.config import load_config
from kiosk.core import Kiosk
from kiosk.fleet import messages, payloads, report
from kiosk.fleet.messages import Signer
from kiosk.store import Store
from kiosk.store.store import CompartmentSpec
from tests.unit.test_fleet_report import QuietHardware

ROOT = Path(__file__).resolve().parents[2]
NOW = 1_800_000_000.0
KIOSK = "KIOSK-17"
SIGNER = Signer(Ed25519PrivateKey.from_private_bytes(bytes(range(32))), "ops-1")
VERSION = 1_799_999_999_000

# sha256 of each envelope as the operator's side signed it before its payloads had types
# (Ed25519 signs deterministically: a changed byte anywhere changes the digest)
GOLDEN = {
    "open": "fa02d8dd0342f48d15fe9232cc374b36666795312df0212d1fd0f5e80b03b575",
    "out_of_service": "b82c8b78aba85566412d96a2d6c001b0367c69db0ea890b3c2838024d76a0209",
    "in_service": "d18087cc4574cb69f48f8ae7d1a19e990a1525d38c9d5a3552dc8a518f0f29c5",
    "extend": "73d35428bf6f36b87120818b358be79fe16b4b05ddd0f26acf9b4d3ab2b81ced",
    "cancel_announcement": "2cad26afea1fa7067e509e5689411c28797907ea5a7bc434dd1252167bf8d09b",
    "selftest": "2c9b0c85dd54984106913aca99f17e3f194f953bfe182f51cf94037877497221",
    "resend_events": "8203877accd07b70d239939dfad2812ec1f076bc01ca05df52aee627898a929c",
    "announce": "126292b269b9ef743fa7eb4b3427b321a074a13392fd47580ad760a73439ca29",
    "cancel": "db5cddcdbb1420025def8dd9d377ffd0aaadc087339c59b8f3702b46ae2ab05f",
    "desired_config": "3710f7f877cffd8c5a9e0a1ad13d553bdc97e1eb768f42f940fdb285365f80d0",
}

ARGS: dict[str, Any] = {
    "open": payloads.OpenArgs,
    "out_of_service": payloads.OutOfServiceArgs,
    "in_service": payloads.InServiceArgs,
    "extend": payloads.ExtendArgs,
    "cancel_announcement": payloads.BarcodeArgs,
    "selftest": payloads.SelftestArgs,
    "resend_events": payloads.ResendEventsArgs,
    "announce": payloads.Announcement,
    "cancel": payloads.BarcodeArgs,
    "desired_config": payloads.DesiredConfigArgs,
}
VERSIONED = {"announce", "cancel", "desired_config"}


def every_message() -> dict[str, messages.Outgoing]:
    def kw(i: int) -> dict[str, Any]:
        return {"now": NOW, "message_id": f"golden-{i:04d}"}

    s, k = SIGNER, KIOSK
    return {
        "open": messages.open_door(s, k, "A07", **kw(1)),
        "out_of_service": messages.out_of_service(s, k, "A05", "hinge", **kw(2)),
        "in_service": messages.in_service(s, k, "A05", **kw(3)),
        "extend": messages.extend(s, k, "JJD1", 24, **kw(4)),
        "cancel_announcement": messages.cancel_announcement(s, k, "JJD1", **kw(5)),
        "selftest": messages.selftest(s, k, **kw(6)),
        "resend_events": messages.resend_events(s, k, 1207, **kw(7)),
        "announce": messages.announce(
            s,
            k,
            "JJD1",
            "M",
            "+491701234567",
            reserve=True,
            reserve_hours=48,
            version=VERSION,
            **kw(8),
        ),
        "cancel": messages.withdraw(s, k, "JJD1", version=VERSION, lifetime_s=3600, **kw(9)),
        "desired_config": messages.desired_config(
            s, k, {"policy.hold_hours": 48}, version=VERSION, **kw(10)
        ),
    }


def keys_of(typed: Any) -> tuple[frozenset[str], frozenset[str]]:
    """A TypedDict's required keys and all its keys."""
    return typed.__required_keys__, typed.__required_keys__ | typed.__optional_keys__


def assert_shaped(value: dict[str, Any], typed: Any, extra: frozenset[str] = frozenset()) -> None:
    required, declared = keys_of(typed)
    assert required <= set(value), f"{typed.__name__}: missing {sorted(required - set(value))}"
    assert set(value) <= declared | extra, (
        f"{typed.__name__}: not declared {sorted(set(value) - declared - extra)}"
    )


def test_every_message_signs_to_the_very_bytes_it_did_before_it_had_a_type() -> None:
    signed = {
        name: hashlib.sha256(out.payload).hexdigest() for name, out in every_message().items()
    }
    changed = sorted(name for name in GOLDEN if signed[name] != GOLDEN[name])
    assert changed == [], f"these envelopes are no longer byte for byte what they were: {changed}"


def test_what_each_message_says_is_what_its_type_declares() -> None:
    for name, out in every_message().items():
        assert_shaped(dict(out.body), payloads.Body)
        version = frozenset({"version"}) if name in VERSIONED else frozenset()
        assert_shaped(dict(out.body["args"]), ARGS[name], extra=version)
        assert version <= set(out.body["args"]), f"{name} carries no version"


def test_each_report_a_kiosk_sends_carries_exactly_the_fields_its_type_declares(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "kiosk.db")
    kiosk = Kiosk(load_config(ROOT / "config" / "demo.toml"), store, QuietHardware(),  # type: ignore[arg-type]
                  b"k" * 32)  # fmt: skip
    store.sync_compartments(
        [
            CompartmentSpec(c.id, c.size, c.board, c.lock, c.accessible)
            for c in kiosk.config.compartments
        ]
    )
    store.log_event("forced_open", "alarm", None, "A01")
    event = store.events(limit=1, newest_first=True)[0]
    state = report.compartments_state(kiosk)
    sent: list[tuple[dict[str, Any], Any]] = [
        (dict(report.presence(kiosk, online=True)), payloads.Presence),
        (dict(report.presence(kiosk, online=False)), payloads.Presence),
        (dict(report.last_will(KIOSK)), payloads.Presence),
        (dict(state), payloads.CompartmentsState),
        (dict(report.health(kiosk, acked_seq=0)), payloads.Health),
        (dict(report.event_message(KIOSK, event)), payloads.EventReport),
        (dict(report.selftest(kiosk)), payloads.SelftestReport),
        (dict(report.result(KIOSK, "c-1", "open", False, "refused", "no", {})), payloads.Result),
    ]
    sent += [(dict(c), payloads.WallCompartment) for c in state["compartments"]]
    assert state["compartments"], "the demo's wall has doors"
    for value, typed in sent:
        assert_shaped(value, typed)
    assert set(report.presence(kiosk, online=True)) == keys_of(payloads.Presence)[1]


def test_a_staff_lists_sealed_people_pack_to_the_very_bytes_they_did_before() -> None:
    verifier = "scrypt$16384$8$1${}${}".format(
        base64.b64encode(b"salt" * 4).decode(), base64.b64encode(bytes(range(32))).decode()
    )
    people = [
        messages.StaffEntry("anna", "courier", verifier, "BADGE-1"),
        messages.StaffEntry("ben", "technician", None, None),
    ]
    packed = messages.pack_staff(people)
    assert hashlib.sha256(packed).hexdigest() == (
        "6612a182e08318cd10613c58027a6c6fb3a676a5d6206e42d01e4a66c8187b17"
    ), "the sealed people of a staff list are no longer byte for byte what they were"
    assert_shaped(json.loads(zlib.decompress(packed)), payloads.SealedStaff)
