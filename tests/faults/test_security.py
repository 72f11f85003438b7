"""Security: no secret at rest, the keypad throttle, the key file, a tamper-evident log.

Secrets are searched for as ASCII bytes in every file the kiosk writes. Short secrets
would match by chance in binary data (a 4-digit PIN in a page of hashes), so the users
here get 10 to 12 digit PINs and the kiosk issues 12-digit pickup codes: a chance match
of one of them is then below one in a million, and a hit means a leak.
"""

from __future__ import annotations

import random
import secrets
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from kiosk.protocol.client import ApiClient, ApiError
from kiosk.protocol.codes import group_code
from testkit.daemon import Daemon, running_daemon
from tests.faults.conftest import kinds

CODE_DIGITS = 12
INBOX = "inbox.jsonl"  # the simulated recipients' phones: codes belong there


def long_pin() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(secrets.choice((10, 11, 12))))


def random_code(digits: int, not_one_of: set[str]) -> str:
    while True:
        code = "".join(secrets.choice("0123456789") for _ in range(digits))
        if code not in not_one_of:
            return code


def store_parcel(daemon: Daemon, courier: ApiClient, barcode: str, size: str = "S") -> str:
    """Deposit ``barcode``; the pickup code its recipient was sent."""
    view = courier.post("/v1/deposits", {"barcode": barcode, "size": size,
                                         "phone": "+4915112345678"})  # fmt: skip
    assert courier.wait_operation(view["operation"])["status"] == "CLOSED"
    return daemon.code_for(barcode)


def kiosk_files(daemon: Daemon) -> dict[str, bytes]:
    """Every regular file of the data dir except the inbox, and the daemon's log."""
    files = {
        p.name: p.read_bytes()
        for p in sorted(daemon.data_dir.iterdir())
        if p.is_file() and p.name != INBOX
    }
    files["daemon.log"] = daemon.log_path.read_bytes()
    return files


def leaks(files: dict[str, bytes], secret_values: dict[str, str]) -> list[str]:
    """Each secret found in a file, written whole or grouped as a person reads a code
    (``9126 5383``: the message's form)."""
    return [
        f"{what} found in {name}"
        for what, value in secret_values.items()
        for name, data in files.items()
        for form in {value, group_code(value)}
        if form.encode("ascii") in data
    ]


def nonces_in(files: dict[str, bytes]) -> list[str]:
    """The files holding a pickup code's nonce (an outbox payload's ``code_nonce``)."""
    return [name for name, data in files.items() if b"code_nonce" in data]


def test_no_pickup_code_or_pin_is_kept_in_database_wal_or_logs() -> None:
    people = {"courier": ("kim", long_pin()), "technician": ("tess", long_pin())}
    users = [(who, role) for role, who in people.items()]
    config: dict[str, Any] = {"sections": {"policy": {"pickup_code_digits": CODE_DIGITS}}}
    with running_daemon(users=users, **config) as daemon:
        courier = daemon.signed_in(people["courier"])
        codes = {f"SEC-{i}": store_parcel(daemon, courier, f"SEC-{i}") for i in range(5)}
        customer = daemon.client()
        for barcode in ("SEC-0", "SEC-1", "SEC-2"):
            view = customer.post("/v1/pickup", {"code": codes[barcode]})
            assert customer.wait_operation(view["operation"])["status"] == "CLOSED"
        wrong_codes = [random_code(CODE_DIGITS, set(codes.values())) for _ in range(3)]
        for code in wrong_codes:
            with pytest.raises(ApiError) as wrong:
                customer.post("/v1/pickup", {"code": code})
            assert wrong.value.status == 401
        wrong_pins = [long_pin() for _ in range(2)]
        for pin in wrong_pins:
            with pytest.raises(ApiError):
                daemon.client().sign_in(pin, user=people["courier"][0])
        tech = daemon.signed_in(people["technician"])
        opened = tech.post("/v1/compartments/A12/open")
        tech.wait_operation(opened["operation"])
        assert (daemon.data_dir / INBOX).read_bytes().count(codes["SEC-4"].encode()) >= 1

        secret_values = {f"pickup code of {b}": c for b, c in codes.items()}
        secret_values |= {f"PIN of {name}": pin for name, pin in people.values()}
        secret_values |= {f"wrong code {i}": c for i, c in enumerate(wrong_codes)}
        secret_values |= {f"wrong PIN {i}": p for i, p in enumerate(wrong_pins)}

        running = kiosk_files(daemon)
        assert running.get("kiosk.db-wal"), "the WAL should hold the recent writes"
        assert leaks(running, secret_values) == []
        # Every notification was delivered: the housekeeping leaves no nonce (the means,
        # with kiosk.key, to rebuild a code) in the database or its WAL.
        daemon.wait_for(lambda: nonces_in(kiosk_files(daemon)) == [], what="nonces scrubbed")

        assert daemon.stop() == 0
        stopped = kiosk_files(daemon)
        assert stopped["kiosk.db"]
        assert leaks(stopped, secret_values) == []
        assert nonces_in(stopped) == []


def test_a_notification_given_up_leaves_no_means_to_rebuild_its_code() -> None:
    unreachable = {
        "notify": {"backend": "webhook", "max_attempts": 1},
        "notify.webhook": {"url": "http://127.0.0.1:9/sms", "secret": "s"},  # discard port
    }
    with running_daemon(sections=unreachable) as daemon:
        courier = daemon.signed_in()
        view = courier.post("/v1/deposits", {"barcode": "LOST-1", "size": "S",
                                             "phone": "+4915112345678"})  # fmt: skip
        assert courier.wait_operation(view["operation"])["status"] == "CLOSED"
        (failed,) = daemon.wait_for(lambda: daemon.events("notification_failed"))
        assert failed["severity"] == "alarm"
        daemon.wait_for(lambda: nonces_in(kiosk_files(daemon)) == [], what="nonce scrubbed")

        assert daemon.stop() == 0
        assert nonces_in(kiosk_files(daemon)) == []


def test_burst_of_wrong_codes_locks_the_keypad_even_across_a_crash(daemon: Daemon) -> None:
    code = store_parcel(daemon, daemon.signed_in(), "BURST-1")
    customer = daemon.client()

    answers = []
    for _ in range(5):
        with pytest.raises(ApiError) as wrong:
            customer.post("/v1/pickup", {"code": random_code(8, {code})})
        answers.append(wrong.value.status)
    with pytest.raises(ApiError) as locked:
        customer.post("/v1/pickup", {"code": code})  # even the right code waits

    assert answers == [401] * 5
    assert locked.value.status == 429
    assert locked.value.retry_after is not None and 25 < locked.value.retry_after <= 30
    assert code not in locked.value.message
    wrong_codes = daemon.events("wrong_code")
    assert [e["detail"]["in_row"] for e in wrong_codes] == [1, 2, 3, 4, 5]
    (lock_event,) = daemon.events("keypad_locked")
    assert lock_event["detail"] == {"input": "code", "seconds": 30.0}

    daemon.kill9()
    daemon.start()

    with pytest.raises(ApiError) as still_locked:
        daemon.client().post("/v1/pickup", {"code": code})
    assert still_locked.value.status == 429
    assert 0 < (still_locked.value.retry_after or 0) <= 30
    assert daemon.client().get("/v1/status")["keypad"]["retry_after"] > 0


def test_more_than_twenty_codes_tried_in_an_hour_raise_the_brute_force_alarm() -> None:
    """Wrong codes and codes typed while the keypad is locked count alike."""
    # Lockouts of 2 s leave 12-digit codes (only) within the brute-force bound.
    quick = {"sections": {"security": {"lockout_initial_s": 2, "lockout_max_s": 2},
                          "policy": {"pickup_code_digits": 12}}}  # fmt: skip
    rng = random.Random(20)
    with running_daemon(**quick) as daemon:
        customer = daemon.client()
        alarms_at_20: list[dict[str, Any]] | None = None
        answers: list[int] = []
        while len(answers) < 21:
            try:
                customer.post("/v1/pickup", {"code": f"{rng.randrange(10**12):012d}"})
            except ApiError as exc:
                answers.append(exc.status)
                if exc.status == 429:  # one refused try, then wait the lockout out
                    daemon.wait_for(
                        lambda: daemon.client().get("/v1/status")["keypad"]["retry_after"] == 0,
                        what="keypad open again",
                    )
                if len(answers) == 20:
                    alarms_at_20 = daemon.events("brute_force_suspected")

        assert alarms_at_20 == []
        assert set(answers) == {401, 429}
        assert len(daemon.events("wrong_code")) == answers.count(401)
        daemon.wait_for(  # counted, and logged as a count when each lockout ended
            lambda: (
                sum(e["detail"]["count"] for e in daemon.events("code_refused_locked"))
                == answers.count(429)
            ),
            what="the refusals' counts in the log",
        )
        (alarm,) = daemon.events("brute_force_suspected")
        assert (alarm["severity"], alarm["detail"]) == ("alarm", {"input": "code"})


def test_kiosk_key_file_is_readable_by_the_kiosk_only(daemon: Daemon) -> None:
    key = daemon.data_dir / "kiosk.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.stat().st_size == 32


def _edit_detail(db: Path, seq: int) -> None:
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER events_append_only_update")
    conn.execute("UPDATE events SET detail = ? WHERE seq = ?", ('{"user":"mallory"}', seq))
    conn.commit()
    conn.close()


def _delete_row(db: Path, seq: int) -> None:
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER events_append_only_delete")
    conn.execute("DELETE FROM events WHERE seq = ?", (seq,))
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("tamper", "first_bad"),
    [(_edit_detail, lambda seq: seq), (_delete_row, lambda seq: seq + 1)],
    ids=["edited-row", "deleted-row"],
)
def test_event_log_shows_tampering_done_behind_the_daemons_back(
    daemon: Daemon, tamper: Any, first_bad: Any
) -> None:
    daemon.signed_in()
    (signed_in,) = daemon.events("signed_in")
    assert daemon.client().get("/v1/events/verify")["ok"] is True
    assert daemon.stop() == 0

    tamper(daemon.data_dir / "kiosk.db", signed_in["seq"])
    daemon.start()

    report = daemon.client().get("/v1/events/verify")
    assert report["ok"] is False
    assert report["first_bad_seq"] == first_bad(signed_in["seq"])
    assert "kiosk_started" in kinds(daemon.events())
    cli = daemon.ctl("events", "--verify")
    assert cli.returncode != 0


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/pickup", {"code": 48291375}),  # a number where text is expected
        ("/v1/pickup", {"code": "4829137548291375482913754829137548291375999"}),  # too long
        ("/v1/sessions", {"pin": 48291375}),
        ("/v1/sessions", {"pin": "48291375", "badge": ["48291375"]}),
    ],
    ids=["code-as-number", "code-too-long", "pin-as-number", "badge-as-list"],
)
def test_a_malformed_request_is_refused_without_echoing_the_code_or_pin(
    daemon: Daemon, path: str, body: dict[str, Any]
) -> None:
    with pytest.raises(ApiError) as refused:
        daemon.client().post(path, body)
    assert refused.value.status == 422
    assert refused.value.kind == "ValidationError"
    assert refused.value.message.split(":")[0] in ("code", "pin", "badge")
    assert "48291375" not in str(refused.value)
    assert b"48291375" not in daemon.log_path.read_bytes()
