"""Signed remote commands: each way a command is refused, and the one way it is not."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from kiosk.fleet.channels import ANNOUNCEMENTS, DESIRED_CONFIG, LEEWAY_S, MAX_LIFETIME_S
from kiosk.fleet.envelope import (
    MAX_MESSAGE_BYTES,
    CommandRefused,
    Keyring,
    KeyringError,
    nesting,
    new_key,
    parse_object,
    sign,
    verify,
    version_of,
)

NOW = 1_800_000_000.0
KIOSK = "KIOSK-17"


@pytest.fixture(scope="module")
def keys() -> tuple[object, Keyring, object]:
    key, public = new_key()
    other, _ = new_key()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    ring = Keyring({"ops-1": Ed25519PublicKey.from_public_bytes(base64.b64decode(public))})
    return key, ring, other


def refused(raw: bytes, ring: Keyring, now: float = NOW) -> str:
    with pytest.raises(CommandRefused) as caught:
        verify(raw, ring, KIOSK, now)
    return caught.value.reason


def test_a_signed_command_for_this_kiosk_within_its_time_is_accepted(keys: tuple) -> None:
    key, ring, _ = keys
    raw = sign(key, "ops-1", KIOSK, "open", {"compartment": "A07"}, now=NOW, command_id="c-000001")
    command = verify(raw, ring, KIOSK, NOW + 10)
    assert (command.id, command.command, command.args) == (
        "c-000001",
        "open",
        {"compartment": "A07"},
    )
    assert command.kid == "ops-1" and command.expires_at == NOW + 120


def test_each_kind_of_bad_command_is_refused_with_its_reason(keys: tuple) -> None:
    key, ring, other = keys
    good = json.loads(sign(key, "ops-1", KIOSK, "open", now=NOW))

    def envelope(**changes: object) -> bytes:
        return json.dumps({**good, **changes}).encode()

    assert refused(b"not json", ring) == "malformed"
    assert refused(envelope(sig=""), ring) == "unsigned"
    assert refused(envelope(kid="someone-else"), ring) == "unknown_key"
    assert refused(sign(other, "ops-1", KIOSK, "open", now=NOW), ring) == "bad_signature"
    forged = json.loads(base64.b64decode(good["payload"]))
    forged["args"] = {"compartment": "B01"}
    tampered = base64.b64encode(json.dumps(forged).encode()).decode()
    assert refused(envelope(payload=tampered), ring) == "bad_signature"
    assert refused(sign(key, "ops-1", "KIOSK-18", "open", now=NOW), ring) == "wrong_kiosk"
    assert refused(sign(key, "ops-1", KIOSK, "open", now=NOW - 400), ring) == "expired"
    assert refused(sign(key, "ops-1", KIOSK, "open", now=NOW + 100), ring) == "not_yet_valid"
    long_lived = sign(key, "ops-1", KIOSK, "open", lifetime_s=MAX_LIFETIME_S + 1, now=NOW)
    assert refused(long_lived, ring) == "too_long_lived"


def test_clocks_a_little_apart_are_tolerated(keys: tuple) -> None:
    key, ring, _ = keys
    raw = sign(key, "ops-1", KIOSK, "open", lifetime_s=60, now=NOW)
    verify(raw, ring, KIOSK, NOW + 60 + LEEWAY_S - 1)  # just expired, within leeway
    verify(raw, ring, KIOSK, NOW - LEEWAY_S + 1)  # the kiosk's clock a little behind


def test_a_keyring_file_is_read_and_a_bad_one_is_refused_by_name(tmp_path: Path) -> None:
    _, public = new_key()
    ring_file = tmp_path / "fleet-keys.toml"
    ring_file.write_text(f'[keys]\nops-2026 = "{public}"\n')
    assert list(Keyring.load(ring_file).keys) == ["ops-2026"]
    ring_file.write_text('[keys]\nops-2026 = "not a key"\n')
    with pytest.raises(KeyringError, match=r"keys\.ops-2026: not an Ed25519 public key"):
        Keyring.load(ring_file)


def test_keygen_writes_a_private_key_and_prints_the_line_to_pin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kiosk.fleet import cli
    from kiosk.fleet.envelope import load_private

    assert cli.main(["keygen", "--kid", "ops-2026", "--out", str(tmp_path)]) == 0
    key_file = tmp_path / "ops-2026.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    pin_line = capsys.readouterr().out.splitlines()[-1]
    ring_file = tmp_path / "ring.toml"
    ring_file.write_text(f"[keys]\n{pin_line}\n")
    raw = sign(load_private(key_file), "ops-2026", KIOSK, "selftest", now=NOW)
    assert verify(raw, Keyring.load(ring_file), KIOSK, NOW).command == "selftest"
    assert cli.main(["keygen", "--kid", "ops-2026", "--out", str(tmp_path)]) == 1


@pytest.mark.parametrize(
    "times",
    [
        '"issued_at":true,"expires_at":1800000060',  # JSON true is 1 to Python
        '"issued_at":1800000000,"expires_at":Infinity',  # a command that never expires
        '"issued_at":NaN,"expires_at":1800000060',  # every comparison with NaN is false
        '"issued_at":1800000060,"expires_at":1800000000',  # expires before it was issued
    ],
)
def test_a_signed_command_with_times_that_are_not_times_is_malformed(
    keys: tuple, times: str
) -> None:
    key, ring, _ = keys
    payload = '{"id":"c-000002","kiosk":"' + KIOSK + '","command":"open","args":{},' + times + "}"
    raw = json.dumps({
        "kid": "ops-1",
        "payload": base64.b64encode(payload.encode()).decode(),
        "sig": base64.b64encode(key.sign(payload.encode())).decode(),
    }).encode()  # fmt: skip
    assert refused(raw, ring) == "malformed"


def _raw_envelope(key: object, payload: bytes, kid: str = "ops-1") -> bytes:
    return json.dumps({
        "kid": kid,
        "payload": base64.b64encode(payload).decode(),
        "sig": base64.b64encode(key.sign(payload)).decode(),  # type: ignore[attr-defined]
    }).encode()  # fmt: skip


def test_each_topic_allows_its_own_longest_life(keys: tuple) -> None:
    key, ring, _ = keys
    month = 30 * 86400.0
    announcement = sign(key, "ops-1", KIOSK, "announce", {"version": 1}, lifetime_s=month, now=NOW)
    command = verify(announcement, ring, KIOSK, NOW + 3 * 86400, channel=ANNOUNCEMENTS)
    assert command.command == "announce", "three days late, an announcement still applies"
    assert refused(announcement, ring) == "too_long_lived", "a command lives 5 minutes at most"
    too_long = sign(key, "ops-1", KIOSK, "announce", {"version": 1}, lifetime_s=month + 1, now=NOW)
    with pytest.raises(CommandRefused) as caught:
        verify(too_long, ring, KIOSK, NOW, channel=ANNOUNCEMENTS)
    assert caught.value.reason == "too_long_lived"
    assert DESIRED_CONFIG.max_lifetime_s == month


def test_json_nested_deeper_than_a_message_needs_is_refused_before_it_is_parsed(
    keys: tuple,
) -> None:
    key, ring, _ = keys
    deep = b"[" * 30_000 + b"]" * 30_000
    with pytest.raises(CommandRefused, match=r"^the envelope is nested deeper than 16$"):
        verify(deep, ring, KIOSK, NOW)
    signed_deep = b'{"id":"c-000003","args":' + b'{"a":' * 5000 + b"1" + b"}" * 5001
    with pytest.raises(CommandRefused, match=r"^the payload is nested deeper than 16$"):
        verify(_raw_envelope(key, signed_deep), ring, KIOSK, NOW)
    wide = b"[" + b"[]," * 20_000 + b"[]]"
    with pytest.raises(CommandRefused, match=r"^the envelope holds more than 1024 arrays"):
        verify(wide, ring, KIOSK, NOW)
    assert nesting(b"{[][[]]}", 16) == 3
    in_text = b'{"note": "' + b"[{" * 100 + b'\\"]"}'
    assert parse_object(in_text, "it") == {"note": "[{" * 100 + '"]'}, "text is no nesting"


def test_a_message_larger_than_the_broker_passes_on_is_refused(keys: tuple) -> None:
    _key, ring, _ = keys
    with pytest.raises(CommandRefused, match="larger than 65536 bytes") as caught:
        verify(b" " * (MAX_MESSAGE_BYTES + 1), ring, KIOSK, NOW)
    assert caught.value.reason == "malformed"


def test_the_old_unsigned_announcement_is_refused_as_unsigned(keys: tuple) -> None:
    _key, ring, _ = keys
    old = json.dumps({"version": 2**62, "action": "announce", "barcode": "JJD1", "size": "M",
                      "email": "thief@example.net"}).encode()  # fmt: skip
    with pytest.raises(CommandRefused) as caught:
        verify(old, ring, KIOSK, NOW, channel=ANNOUNCEMENTS)
    assert caught.value.reason == "unsigned"


def test_a_version_beyond_the_time_it_was_signed_is_malformed(keys: tuple) -> None:
    key, ring, _ = keys

    def version(v: object) -> int:
        raw = sign(key, "ops-1", KIOSK, "announce", {"version": v}, 86400, now=NOW)
        return version_of(verify(raw, ring, KIOSK, NOW, channel=ANNOUNCEMENTS))

    assert version(42) == 42, "a counter from 1"
    assert version(int(NOW * 1000)) == int(NOW * 1000), "the time in milliseconds"
    for bad in (2**62, int((NOW + LEEWAY_S) * 1000) + 1, 0, True, 1.5, "7"):
        with pytest.raises(CommandRefused) as caught:
            version(bad)
        assert caught.value.reason == "malformed", bad
