"""Signed remote commands: each way a command is refused, and the one way it is not."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from kiosk.fleet.envelope import (
    LEEWAY_S,
    MAX_LIFETIME_S,
    CommandRefused,
    Keyring,
    KeyringError,
    new_key,
    sign,
    verify,
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
