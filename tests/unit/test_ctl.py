"""``lockerctl`` against a scripted daemon (``httpx.MockTransport``): what a person sees
when reading (status, tables, events and following them, the event log check), and the
client's parsing.

The daemon here answers from a script per route; the end-to-end tests against the real daemon
live with the integration tests.
"""

from __future__ import annotations

import json

import httpx
import pytest

from kiosk import lockerctl as ctl
from kiosk.protocol.client import parse_sse, validation_message
from tests.unit.scripted_daemon import STATUS, InterruptedStream, ScriptedDaemon


def test_status_shows_the_kiosk_its_boards_and_free_sizes(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted_daemon.on("GET", "/v1/status", (200, STATUS))

    assert ctl.main(["status"]) == 0

    shown = capsys.readouterr().out
    assert "Kiosk DEMO-01 Main street, version 0.1.0 (demo), up 1h 2m" in shown
    assert "Free by size:  S 3, M 5, L 0, XL 4" in shown
    assert "Outbox:        2 waiting" in shown
    board_lines = [line.split() for line in shown.splitlines() if "kerong" in line]
    assert board_lines[0][:3] == ["top", "kerong", "online"]
    assert board_lines[1][:3] == ["low", "kerong", "OFFLINE"]
    assert "A07" in shown and "OPENED" in shown


def test_status_shows_a_locked_sign_in_with_the_tries_it_refused(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    locked = {**STATUS, "keypad": {"retry_after": 0.0, "refused": 0},
              "sign_in": {"retry_after": 1745.2, "refused": 995}}  # fmt: skip
    scripted_daemon.on("GET", "/v1/status", (200, locked))

    assert ctl.main(["status"]) == 0

    shown = capsys.readouterr().out
    assert "Keypad:        ready" in shown
    assert "Sign-in:       locked for 1746 s (995 tries refused)" in shown


def test_status_never_shows_a_keypad_still_locked_as_locked_for_0_seconds(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    ending = {**STATUS, "keypad": {"retry_after": 0.1, "refused": 0}}
    scripted_daemon.on("GET", "/v1/status", (200, ending))

    assert ctl.main(["status"]) == 0

    assert "Keypad:        locked for 1 s" in capsys.readouterr().out


def test_compartments_table_is_aligned(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {"id": "A01", "size": "S", "board": "top", "lock": 1, "accessible": True,
         "state": "AVAILABLE", "reason": None, "door": "CLOSED", "item": None,
         "board_online": True, "operation": None},
        {"id": "A02", "size": "XL", "board": "top", "lock": 2, "accessible": False,
         "state": "OUT_OF_SERVICE", "reason": "hinge broken", "door": "UNKNOWN", "item": None,
         "board_online": True, "operation": None},
    ]  # fmt: skip
    scripted_daemon.on("GET", "/v1/compartments", (200, {"compartments": rows}))

    assert ctl.main(["compartments"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["ID", "SIZE", "LOCK", "ACCESS", "STATE"]
    assert lines[2].endswith("hinge broken")
    assert lines[1].index("AVAILABLE") == lines[2].index("OUT_OF_SERVICE")


@pytest.mark.parametrize("argv", [["--json", "status"], ["status", "--json"]])
def test_json_prints_exactly_what_the_api_returned(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    scripted_daemon.on("GET", "/v1/status", (200, STATUS))

    assert ctl.main(argv) == 0

    assert json.loads(capsys.readouterr().out) == STATUS


def test_socket_option_works_after_the_command_name(scripted_daemon: ScriptedDaemon) -> None:
    scripted_daemon.on("GET", "/v1/compartments", (200, {"compartments": []}))

    assert ctl.main(["compartments", "--socket", "/tmp/other.sock"]) == 0
    assert ctl.main(["--socket", "/tmp/first.sock", "compartments"]) == 0

    assert scripted_daemon.sockets == ["/tmp/other.sock", "/tmp/first.sock"]


def test_socket_comes_from_the_environment_when_not_given(
    scripted_daemon: ScriptedDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCKER_SOCKET", "/srv/kiosk.sock")
    scripted_daemon.on("GET", "/v1/compartments", (200, {"compartments": []}))

    assert ctl.main(["compartments"]) == 0

    assert scripted_daemon.sockets == ["/srv/kiosk.sock"]


def test_parcels_filter_by_state_is_sent_to_the_daemon(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    parcel = {"id": 1, "barcode": "1Z999", "size": "M", "state": "EXPIRED", "compartment": "A03",
              "phone": "+49***78", "email": None, "stored_at": 1_700_000_000,
              "expires_at": 1_700_259_200, "picked_up_at": None}  # fmt: skip
    scripted_daemon.on("GET", "/v1/parcels", (200, {"parcels": [parcel]}))

    assert ctl.main(["parcels", "--state", "expired"]) == 0

    assert scripted_daemon.requests[0].url.params["state"] == "EXPIRED"
    assert "1Z999" in capsys.readouterr().out


def test_events_are_shown_oldest_first_with_detail_as_key_values(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    newest_first = [
        {"seq": 8, "ts": 1_700_000_100, "kind": "door_closed", "severity": "info",
         "actor": "courier:bob", "compartment": "A07", "detail": {"operation": 5}},
        {"seq": 7, "ts": 1_700_000_000, "kind": "door_opened", "severity": "info",
         "actor": "courier:bob", "compartment": "A07", "detail": {"purpose": "deposit"}},
    ]  # fmt: skip
    scripted_daemon.on("GET", "/v1/events", (200, {"events": newest_first}))

    assert ctl.main(["events", "--limit", "2"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert scripted_daemon.requests[0].url.params["newest_first"] == "true"
    assert lines[1].startswith("7 ") and lines[1].endswith("purpose=deposit")
    assert lines[2].startswith("8 ") and lines[2].endswith("operation=5")


def test_events_show_a_gs1_separator_as_gs_and_never_a_raw_control_byte(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    stored = {"seq": 9, "ts": 1_700_000_200, "kind": "parcel_stored", "severity": "info",
              "actor": "courier:bob", "compartment": "A07",
              "detail": {"barcode": "0109501101530003\x1d10ABC", "note": "\x1b[2J"}}  # fmt: skip
    scripted_daemon.on("GET", "/v1/events", (200, {"events": [stored]}))

    assert ctl.main(["events"]) == 0

    out = capsys.readouterr().out
    assert "barcode=0109501101530003<GS>10ABC" in out
    assert "note=\\x1b[2J" in out
    assert not any(ord(c) < 32 and c != "\n" for c in out)


def test_a_broken_event_log_says_where_and_exits_1(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = {"ok": False, "rows": 120, "first_bad_seq": 42, "reason": "hash does not match"}
    scripted_daemon.on("GET", "/v1/events/verify", (200, broken))

    assert ctl.main(["events", "--verify"]) == 1

    assert capsys.readouterr().out.strip() == "event log BROKEN at event 42: hash does not match"


def test_an_intact_event_log_says_how_many_events(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    intact = {"ok": True, "rows": 120, "first_bad_seq": None, "reason": ""}
    scripted_daemon.on("GET", "/v1/events/verify", (200, intact))

    assert ctl.main(["events", "--verify"]) == 0

    assert capsys.readouterr().out.strip() == "event log intact: 120 events"


def test_events_follow_prints_new_events_until_ctrl_c(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    old = {"seq": 3, "ts": 1_700_000_000, "kind": "started", "severity": "info",
           "actor": None, "compartment": None, "detail": {}}  # fmt: skip
    new = {**old, "type": "event", "seq": 4, "kind": "door_forced", "severity": "alarm",
           "compartment": "B02"}  # fmt: skip
    chunks = [
        b": connected\n\n",
        f"data: {json.dumps({'type': 'event', **old})}\n\n".encode(),  # already shown
        b'data: {"type": "door", "compartment": "B02", "door": "OPEN"}\n\n',
        b": keep-alive\n\n",
        f"data: {json.dumps(new)}\n\n".encode(),
    ]
    scripted_daemon.on("GET", "/v1/events", (200, {"events": [old]}))
    scripted_daemon.on("GET", "/v1/stream", httpx.Response(200, stream=InterruptedStream(chunks)))

    assert ctl.main(["events", "--follow"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["SEQ", "3", "4"]
    assert "door_forced" in lines[2] and "B02" in lines[2]


def test_events_follow_reports_a_closed_stream(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted_daemon.on("GET", "/v1/events", (200, {"events": []}))
    scripted_daemon.on("GET", "/v1/stream", httpx.Response(200, content=b": connected\n\n"))

    assert ctl.main(["events", "--follow"]) == 3

    assert "closed the event stream" in capsys.readouterr().err


# -- the client's parsing -----------------------------------------------------------------


def test_sse_parsing_skips_comments_and_joins_data_lines() -> None:
    lines = [": hello", "", "event: x", 'data: {"a":', "data: 1}", "", "data: not json", "", ""]

    assert list(parse_sse(iter(lines))) == [{"a": 1}]


def test_validation_detail_becomes_one_line() -> None:
    detail = [
        {"loc": ["body", "size"], "msg": "Field required"},
        {"loc": ["query", "limit"], "msg": "Input should be greater than or equal to 1"},
    ]

    assert validation_message(detail) == (
        "size: Field required; limit: Input should be greater than or equal to 1"
    )
