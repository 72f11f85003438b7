"""``locker-fleet`` against a real Mosquitto (the shipped ACL) and fake kiosks.

A fake kiosk here is a paho client logged in as a kiosk user: it publishes retained
presence and state, checks each command's envelope against its pinned keyring with
``envelope.verify`` and answers on its results topic in the contract's shape, and answers
announcements with the id ``announce:{version}`` (docs/fleet.md).
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.fleet.channels import ANNOUNCEMENTS
from kiosk.fleet.cli import main
from kiosk.fleet.envelope import CommandRefused, Keyring, new_key, private_pem, verify
from testkit.broker import Broker, free_port, running_broker
from testkit.fleet import KID, USERS

mqtt = pytest.importorskip("paho.mqtt.client")

STATE = {
    "free": {"S": 3, "M": 1, "L": 0, "XL": 1},
    "total": {"S": 4, "M": 3, "L": 2, "XL": 1},
    "out_of_service": ["A05"],
    "doors_open": [],
    "doors_unknown": [],
    "boards": {"top": True, "bottom": True},
    "guard": "ok",
    "alarms": 2,
}


class FakeKiosk:
    """A kiosk's side of the link, just enough of it: presence, state, answers, events."""

    def __init__(self, broker: Broker, kiosk: str, keyring: Keyring) -> None:
        self.kiosk, self.keyring = kiosk, keyring
        self.capped: set[str] = set()  # doors whose opening hits the hourly cap
        self.commands: list[dict[str, Any]] = []
        self.announcements: queue.Queue[dict[str, Any]] = queue.Queue()
        subscribed = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=kiosk, protocol=mqtt.MQTTv5
        )
        self.client.username_pw_set(kiosk, USERS[kiosk])
        self.client.will_set(self.topic("presence"), self.body(status="offline"), 1, True)
        self.client.on_message = self.on_message
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.connect(broker.host, broker.port_for(kiosk))
        self.client.loop_start()
        self.client.subscribe([(self.topic("commands"), 1), (self.topic("announcements"), 1)])
        assert subscribed.wait(5)
        self.publish(
            "presence",
            self.body(status="online", since=time.time(), version="0.1.0", announcements_cursor=0),
            retain=True,
        )
        self.publish("state/compartments", self.body(ts=time.time(), **STATE), retain=True)

    def topic(self, leaf: str) -> str:
        return f"lk/v1/kiosk/{self.kiosk}/{leaf}"

    def body(self, **fields: Any) -> bytes:
        return json.dumps({"kiosk": self.kiosk, **fields}).encode()

    def publish(self, leaf: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(self.topic(leaf), payload, qos=1, retain=retain).wait_for_publish(5)

    def send_events(self, seqs: list[int]) -> None:
        for seq in seqs:
            self.publish(
                "events",
                self.body(
                    seq=seq,
                    key=f"{self.kiosk}:{seq}",
                    ts=time.time(),
                    kind="parcel_stored",
                    severity="info",
                    actor="carla",
                    compartment="A07",
                    detail={"parcel": seq},
                ),
            )

    def stop(self) -> None:
        """A clean stop: the kiosk says it is offline itself."""
        self.publish("presence", self.body(status="offline"), retain=True)
        self.client.disconnect()
        self.client.loop_stop()

    # paho's thread: answer without waiting on anything
    def on_message(self, _client: Any, _userdata: Any, message: Any) -> None:
        if message.topic.endswith("/announcements"):
            sent = verify(message.payload, self.keyring, self.kiosk, channel=ANNOUNCEMENTS)
            self.announcements.put({"command": sent.command, **sent.args})
            self.answer(sent.id, sent.command, True, None, f"{sent.args['barcode']} announced.", {})
            return
        try:
            command = verify(message.payload, self.keyring, self.kiosk)
        except CommandRefused as refused:
            payload = json.loads(message.payload)  # the test's own envelopes are well formed
            inner = json.loads(base64.b64decode(payload["payload"]))
            self.answer(inner["id"], inner["command"], False, refused.reason, str(refused), {})
            return
        self.commands.append({"command": command.command, "args": command.args})
        door = command.args.get("compartment")
        if command.command == "open" and door in self.capped:
            self.answer(
                command.id,
                "open",
                False,
                "hourly_cap",
                "5 remote opens in the last hour; the cap is 5.",
                {},
            )
        elif command.command == "open":
            self.answer(
                command.id,
                "open",
                True,
                None,
                f"Door {door} opened.",
                {"compartment": door, "operation": 512},
            )
        else:
            self.answer(command.id, command.command, True, None, "", {"boards": {"top": "ok"}})

    def answer(
        self,
        cid: str,
        command: str,
        ok: bool,
        reason: str | None,
        message: str,
        result: dict[str, Any],
    ) -> None:
        self.client.publish(
            self.topic("results"),
            self.body(
                id=cid,
                command=command,
                ok=ok,
                reason=reason,
                message=message,
                result=result,
                replayed=False,
                ts=time.time(),
            ),
            qos=1,
        )


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    with running_broker(tmp_path_factory.mktemp("broker"), USERS) as running:
        yield running


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Keyring]:
    folder = tmp_path_factory.mktemp("keys")
    key, _public = new_key()
    path = folder / f"{KID}.key"
    path.write_bytes(private_pem(key))
    path.chmod(0o600)
    return path, Keyring({KID: key.public_key()})


def write_config(folder: Path, running: Broker, key: Path, **extra: str) -> Path:
    (folder / "password").write_text(USERS["operator"] + "\n")
    lines = {
        "broker": f'"{running.host}:{running.operator_port}"',
        "tls": "false",
        "password_file": '"password"',
        "signing_key": f'"{key}"',
        "kid": f'"{KID}"',
        "settle_s": "0.5",
        "timeout_s": "3",
        **extra,
    }
    path = folder / "locker-fleet.toml"
    path.write_text("".join(f"{k} = {v}\n" for k, v in lines.items()))
    return path


@pytest.fixture
def config(tmp_path: Path, broker: Broker, keys: tuple[Path, Keyring]) -> str:
    return str(write_config(tmp_path, broker, keys[0]))


@pytest.fixture(scope="module")
def kiosk1(broker: Broker, keys: tuple[Path, Keyring]) -> Iterator[FakeKiosk]:
    kiosk = FakeKiosk(broker, "KIOSK-1", keys[1])
    yield kiosk
    kiosk.stop()


def test_operator_lists_kiosks_online_and_offline_with_free_sizes(
    broker: Broker,
    keys: tuple[Path, Keyring],
    kiosk1: FakeKiosk,
    config: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    FakeKiosk(broker, "KIOSK-2", keys[1]).stop()
    assert main(["kiosks", "--config", config]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["KIOSK", "STATUS", "LAST"]
    one = next(line for line in lines if line.startswith("KIOSK-1 "))
    two = next(line for line in lines if line.startswith("KIOSK-2 "))
    assert one.split()[1:3] == ["online", "now"]
    assert "S 3/4, M 1/3, L 0/2, XL 1/1" in one
    assert "out of service: A05" in one
    assert two.split()[1] == "offline"

    assert main(["kiosks", "--config", config, "--json"]) == 0
    listed = {k["kiosk"]: k for k in json.loads(capsys.readouterr().out)["kiosks"]}
    assert listed["KIOSK-1"]["status"] == "online"
    assert listed["KIOSK-1"]["state"]["free"] == STATE["free"]
    assert listed["KIOSK-2"]["status"] == "offline"


def test_a_kiosks_credentials_cannot_trip_the_operator_with_deeply_nested_json(
    broker: Broker,
    keys: tuple[Path, Keyring],
    kiosk1: FakeKiosk,
    config: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    thief = FakeKiosk(broker, "KIOSK-3", keys[1])  # its own password, its own topics
    deep = b"[" * 30_000 + b"]" * 30_000
    try:
        thief.publish("presence", deep, retain=True)
        thief.publish("state/compartments", b"{" * 20_000, retain=True)
        assert main(["kiosks", "--config", config, "--json"]) == 0
        listed = {k["kiosk"]: k["status"] for k in json.loads(capsys.readouterr().out)["kiosks"]}
        assert listed["KIOSK-1"] == "online" and "KIOSK-3" not in listed
        sender = threading.Timer(0.3, lambda: (thief.publish("events", deep),
                                               kiosk1.send_events([1])))  # fmt: skip
        sender.start()
        code = main(["events", "--settle", "1.2", "--json", "--config", config])
        sender.join()
        assert code == 0
        events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [(e["kiosk"], e["seq"]) for e in events] == [("KIOSK-1", 1)]
    finally:
        thief.publish("presence", b"", retain=True)
        thief.publish("state/compartments", b"", retain=True)
        thief.client.disconnect()
        thief.client.loop_stop()


def test_open_prints_the_kiosks_answer_and_exits_0(
    kiosk1: FakeKiosk, config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["open", "KIOSK-1", "A07", "--config", config]) == 0
    assert capsys.readouterr().out == "KIOSK-1: Door A07 opened\n"
    assert kiosk1.commands[-1] == {"command": "open", "args": {"compartment": "A07"}}


def test_resend_asks_a_kiosk_for_its_events_from_a_seq_and_refuses_a_bad_one(
    kiosk1: FakeKiosk, config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["resend", "KIOSK-1", "--from", "1207", "--config", config]) == 0
    assert kiosk1.commands[-1] == {"command": "resend_events", "args": {"from_seq": 1207}}
    capsys.readouterr()
    with pytest.raises(SystemExit) as usage:
        main(["resend", "KIOSK-1", "--from", "0", "--config", config])
    assert usage.value.code == 2
    assert "a sequence number is a whole number from 1, not '0'" in capsys.readouterr().err


def test_a_refusal_exits_1_with_the_reason(
    kiosk1: FakeKiosk, config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    kiosk1.capped.add("A08")
    assert main(["open", "KIOSK-1", "A08", "--config", config]) == 1
    assert capsys.readouterr().out == (
        "KIOSK-1 refused: hourly_cap — 5 remote opens in the last hour; the cap is 5\n"
    )


def test_a_key_the_kiosk_has_not_pinned_is_refused(
    kiosk1: FakeKiosk, broker: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keygen", "--kid", KID, "--out", str(tmp_path / "other")]) == 0
    config = write_config(tmp_path, broker, tmp_path / "other" / f"{KID}.key")
    capsys.readouterr()
    assert main(["in-service", "KIOSK-1", "A05", "--config", str(config)]) == 1
    assert capsys.readouterr().out.startswith("KIOSK-1 refused: bad_signature — ")


def test_a_silent_kiosk_exits_3_and_says_when_the_command_expires(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    assert main(["open", "KIOSK-3", "A07", "--config", config, "--timeout", "0.5"]) == 3
    assert time.monotonic() - started < 3
    out = capsys.readouterr().out
    assert out.startswith("KIOSK-3: no answer within 0.5 s; the kiosk may be offline.\n")
    assert "The command expires at " in out
    assert "after that it refuses it unexecuted." in out


def test_announce_sends_the_exact_message_of_the_contract_signed(
    kiosk1: FakeKiosk, config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["announce", "KIOSK-1", "JJD0001", "--size", "M", "--phone", "+491701234567"]
    assert main([*argv, "--version", "42", "--config", config]) == 0
    assert kiosk1.announcements.get(timeout=1) == {
        "command": "announce",
        "version": 42,
        "barcode": "JJD0001",
        "size": "M",
        "phone": "+491701234567",
        "email": None,
    }
    assert capsys.readouterr().out == "KIOSK-1: JJD0001 announced\n"

    before = int(time.time() * 1000)
    assert main([*argv, "--reserve", "--config", config, "--json"]) == 0
    sent = kiosk1.announcements.get(timeout=1)
    assert before <= sent["version"] <= int(time.time() * 1000) + 1
    assert sent["reserve"] is True
    shown = json.loads(capsys.readouterr().out)
    assert shown["answer"]["id"] == shown["sent"]["id"] and shown["answer"]["ok"] is True
    assert shown["sent"]["expires_at"] - shown["sent"]["issued_at"] == 30 * 86400


def test_events_json_in_seq_order_with_duplicates_dropped(
    kiosk1: FakeKiosk, config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Events are not retained: send them once the operator listens.
    sender = threading.Timer(0.3, kiosk1.send_events, [[3, 1, 2, 1, 3]])
    sender.start()
    code = main(["events", "--kiosk", "KIOSK-1", "--settle", "1.2", "--json", "--config", config])
    sender.join()
    assert code == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["seq"] for e in events] == [1, 2, 3]
    assert [e["key"] for e in events] == ["KIOSK-1:1", "KIOSK-1:2", "KIOSK-1:3"]


def test_selftest_json_is_one_object(
    kiosk1: FakeKiosk, config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["selftest", "KIOSK-1", "--json", "--config", config]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["sent"]["command"] == "selftest" and shown["sent"]["kiosk"] == "KIOSK-1"
    assert shown["answer"]["ok"] is True and shown["answer"]["id"] == shown["sent"]["id"]


def test_a_bad_config_exits_2_naming_the_file_and_key(
    tmp_path: Path,
    broker: Broker,
    keys: tuple[Path, Keyring],
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(
        tmp_path, broker, keys[0], broker='"fleet.example.net:8883"', brokr='"typo"'
    )
    assert main(["kiosks", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert f"{config}: tls: false is accepted only for a broker on loopback" in err
    assert f"{config}: brokr: unknown key (did you mean 'broker'?)" in err

    lines = config.read_text().splitlines()
    config.write_text("\n".join(line for line in lines if not line.startswith(("kid", "brok"))))
    config.write_text(config.read_text() + f'\nbroker = "{broker.host}:{broker.operator_port}"\n')
    assert main(["open", "KIOSK-1", "A07", "--config", str(config)]) == 2
    assert f"{config}: kid: missing" in capsys.readouterr().err


def test_the_installed_console_script(
    kiosk1: FakeKiosk, config: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = Path(sys.executable).parent / "locker-fleet"
    program = str(script) if script.exists() else shutil.which("locker-fleet")
    if program is None:
        pytest.skip("locker-fleet is not installed (pip install -e .)")
    env = {**os.environ, "LOCKER_FLEET_CONFIG": config}
    done = subprocess.run(
        [program, "kiosks", "--json"], env=env, capture_output=True, text=True, timeout=20
    )
    assert done.returncode == 0, done.stderr
    kiosks = {k["kiosk"]: k["status"] for k in json.loads(done.stdout)["kiosks"]}
    assert kiosks["KIOSK-1"] == "online"


def test_a_wrong_password_exits_2_and_no_broker_exits_3(
    tmp_path: Path, broker: Broker, keys: tuple[Path, Keyring], capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, broker, keys[0])
    (tmp_path / "password").write_text("wrong\n")
    assert main(["kiosks", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "refused the login of 'operator'" in err and str(config) in err

    config.write_text(config.read_text().replace(f":{broker.operator_port}", f":{free_port()}"))
    assert main(["kiosks", "--config", str(config)]) == 3
    assert "cannot reach the broker 127.0.0.1:" in capsys.readouterr().err
