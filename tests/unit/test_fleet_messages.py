"""The operator's side builds every message in one place, as a kiosk will accept it."""

from __future__ import annotations

import json

import pytest

from kiosk.fleet import messages
from kiosk.fleet.channels import CHANNELS
from kiosk.fleet.envelope import Keyring, new_key, verify
from kiosk.fleet.messages import Signer

NOW = 1_800_000_000.0
KIOSK = "KIOSK-17"
KEY, _PUBLIC = new_key()
SIGNER = Signer(KEY, "ops-1")
RING = Keyring({"ops-1": KEY.public_key()})


def accepted(out: messages.Outgoing, at: float = NOW) -> dict[str, object]:
    """What the kiosk reads from ``out``, checked as the kiosk checks it."""
    command = verify(out.payload, RING, KIOSK, at, channel=CHANNELS[out.channel.leaf])
    assert (command.id, command.command) == (out.id, out.name)
    return {"command": command.command, **command.args}


def test_every_kind_of_message_is_signed_for_its_topic_and_accepted_there() -> None:
    built = {
        "commands": [
            messages.open_door(SIGNER, KIOSK, "A07", now=NOW),
            messages.out_of_service(SIGNER, KIOSK, "A05", "hinge", now=NOW),
            messages.in_service(SIGNER, KIOSK, "A05", now=NOW),
            messages.extend(SIGNER, KIOSK, "JJD1", 24, now=NOW),
            messages.cancel_announcement(SIGNER, KIOSK, "JJD1", now=NOW),
            messages.selftest(SIGNER, KIOSK, now=NOW),
            messages.resend_events(SIGNER, KIOSK, 1207, now=NOW),
        ],
        "announcements": [
            messages.announce(SIGNER, KIOSK, "JJD1", "M", "+491701234567", now=NOW),
            messages.withdraw(SIGNER, KIOSK, "JJD1", now=NOW),
        ],
        "config/desired": [
            messages.desired_config(SIGNER, KIOSK, {"policy.hold_hours": 48}, now=NOW)
        ],
    }
    for leaf, outs in built.items():
        for out in outs:
            assert out.topic == f"lk/v1/kiosk/{KIOSK}/{leaf}"
            assert out.retain is (leaf == "config/desired")
            accepted(out)
    announce = built["announcements"][0]
    assert accepted(announce, NOW + 20 * 86400)["barcode"] == "JJD1", "20 days late"
    assert announce.expires_at - NOW == 30 * 86400
    assert built["commands"][0].expires_at - NOW == 120


def test_versions_follow_one_another_within_one_millisecond() -> None:
    outs = [messages.announce(SIGNER, KIOSK, f"JJD{n}", "S", "+4917012345", now=NOW)
            for n in range(5)]  # fmt: skip
    versions = [json.loads(json.dumps(o.body))["args"]["version"] for o in outs]
    assert versions == sorted(set(versions)) and len(versions) == 5
    assert versions[0] >= int(NOW * 1000)


def test_what_a_kiosk_would_refuse_for_its_form_is_refused_when_built() -> None:
    with pytest.raises(ValueError, match="lives at most 300 s, not 3600"):
        messages.open_door(SIGNER, KIOSK, "A07", lifetime_s=3600)
    with pytest.raises(ValueError, match="version 4611686018427387904 is in the future"):
        messages.announce(SIGNER, KIOSK, "JJD1", "M", "+4917012345", version=2**62)
    with pytest.raises(ValueError, match="needs the recipient's phone or e-mail"):
        messages.announce(SIGNER, KIOSK, "JJD1", "M")
    with pytest.raises(ValueError, match="no topic carries a message named 'open_all'"):
        messages.signed(SIGNER, KIOSK, "open_all")
    with pytest.raises(ValueError, match="not a kiosk id"):
        messages.selftest(SIGNER, "lk/v1/#")
