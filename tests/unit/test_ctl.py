"""``lockerctl`` against a scripted daemon (``httpx.MockTransport``): what a person sees.

The daemon here answers from a script per route; the end-to-end tests against the real daemon
live with the integration tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kiosk import ctl, ctl_format, ctl_io
from kiosk.client import ApiClient, parse_sse, validation_message

Answer = tuple[int, Any] | httpx.Response


class FakeDaemon:
    """Answers each ``(METHOD, path)`` from a script; the last answer of a script repeats."""

    def __init__(self) -> None:
        self.scripts: dict[tuple[str, str], list[Answer]] = {}
        self.requests: list[httpx.Request] = []
        self.sockets: list[str] = []

    def on(self, method: str, path: str, *answers: Answer) -> None:
        self.scripts[(method, path)] = list(answers)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        script = self.scripts.get((request.method, request.url.path))
        if not script:
            return httpx.Response(404, json={"error": "Not Found", "kind": "NotFound"})
        answer = script.pop(0) if len(script) > 1 else script[0]
        if isinstance(answer, httpx.Response):
            return answer
        status, body = answer
        return httpx.Response(status, json=body)

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]

    def body(self, request: httpx.Request) -> Any:
        return json.loads(request.content)


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> FakeDaemon:
    fake = FakeDaemon()
    fake.on("POST", "/v1/sessions", (200, {"token": "tok-1", "user": "ann", "role": "technician"}))
    fake.on("DELETE", "/v1/sessions", (200, {"ok": True}))

    def make_client(socket: str) -> ApiClient:
        fake.sockets.append(socket)
        return ApiClient(socket, transport=httpx.MockTransport(fake))

    monkeypatch.setattr(ctl, "make_client", make_client)
    monkeypatch.setattr(ctl_io, "is_terminal", lambda: False)
    for name in ("LOCKER_PIN", "LOCKER_USER", "LOCKER_SOCKET"):
        monkeypatch.delenv(name, raising=False)
    return fake


@pytest.fixture
def pin(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LOCKER_PIN", "482913")
    return "482913"


def op(status: str, live: bool, message: str, cid: str = "A07", op_id: int = 5) -> dict[str, Any]:
    return {
        "operation": op_id,
        "compartment": cid,
        "purpose": "deposit",
        "status": status,
        "door": "OPEN" if status in ("OPENED", "LEFT_OPEN") else "CLOSED",
        "live": live,
        "message": message,
    }


STATUS = {
    "kiosk": {
        "id": "DEMO-01",
        "name": "Main street",
        "version": "0.1.0",
        "demo": True,
        "operator_contact": "+49 30 1234567",
    },
    "uptime_s": 3725.0,
    "boards": [
        {"name": "top", "driver": "kerong", "online": True, "error": None, "last_seen": None},
        {
            "name": "low",
            "driver": "kerong",
            "online": False,
            "error": "no answer",
            "last_seen": None,
        },
    ],
    "compartments": {
        "total": 16,
        "by_state": {"AVAILABLE": 12, "OCCUPIED": 4},
        "free_by_size": {"S": 3, "M": 5, "L": 0, "XL": 4},
        "doors_open": 1,
    },
    "parcels": {"STORED": 4, "PICKED_UP": 10},
    "operations": [op("OPENED", True, "Door A07 is open")],
    "outbox_depth": 2,
    "keypad": {"retry_after": 0},
    "alarms": [],
}


# -- reading ------------------------------------------------------------------------------


def test_status_shows_the_kiosk_its_boards_and_free_sizes(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    daemon.on("GET", "/v1/status", (200, STATUS))

    assert ctl.main(["status"]) == 0

    shown = capsys.readouterr().out
    assert "Kiosk DEMO-01 Main street, version 0.1.0 (demo), up 1h 2m" in shown
    assert "Free by size:  S 3, M 5, L 0, XL 4" in shown
    assert "Outbox:        2 waiting" in shown
    board_lines = [line.split() for line in shown.splitlines() if "kerong" in line]
    assert board_lines[0][:3] == ["top", "kerong", "online"]
    assert board_lines[1][:3] == ["low", "kerong", "OFFLINE"]
    assert "A07" in shown and "OPENED" in shown


def test_compartments_table_is_aligned(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {"id": "A01", "size": "S", "board": "top", "lock": 1, "accessible": True,
         "state": "AVAILABLE", "reason": None, "door": "CLOSED", "item": None,
         "board_online": True, "operation": None},
        {"id": "A02", "size": "XL", "board": "top", "lock": 2, "accessible": False,
         "state": "OUT_OF_SERVICE", "reason": "hinge broken", "door": "UNKNOWN", "item": None,
         "board_online": True, "operation": None},
    ]  # fmt: skip
    daemon.on("GET", "/v1/compartments", (200, {"compartments": rows}))

    assert ctl.main(["compartments"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["ID", "SIZE", "LOCK", "ACCESS", "STATE"]
    assert lines[2].endswith("hinge broken")
    assert lines[1].index("AVAILABLE") == lines[2].index("OUT_OF_SERVICE")


@pytest.mark.parametrize("argv", [["--json", "status"], ["status", "--json"]])
def test_json_prints_exactly_what_the_api_returned(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    daemon.on("GET", "/v1/status", (200, STATUS))

    assert ctl.main(argv) == 0

    assert json.loads(capsys.readouterr().out) == STATUS


def test_socket_option_works_after_the_command_name(daemon: FakeDaemon) -> None:
    daemon.on("GET", "/v1/compartments", (200, {"compartments": []}))

    assert ctl.main(["compartments", "--socket", "/tmp/other.sock"]) == 0
    assert ctl.main(["--socket", "/tmp/first.sock", "compartments"]) == 0

    assert daemon.sockets == ["/tmp/other.sock", "/tmp/first.sock"]


def test_socket_comes_from_the_environment_when_not_given(
    daemon: FakeDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCKER_SOCKET", "/srv/kiosk.sock")
    daemon.on("GET", "/v1/compartments", (200, {"compartments": []}))

    assert ctl.main(["compartments"]) == 0

    assert daemon.sockets == ["/srv/kiosk.sock"]


def test_parcels_filter_by_state_is_sent_to_the_daemon(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    parcel = {"id": 1, "barcode": "1Z999", "size": "M", "state": "EXPIRED", "compartment": "A03",
              "phone": "+49***78", "email": None, "stored_at": 1_700_000_000,
              "expires_at": 1_700_259_200, "picked_up_at": None}  # fmt: skip
    daemon.on("GET", "/v1/parcels", (200, {"parcels": [parcel]}))

    assert ctl.main(["parcels", "--state", "expired"]) == 0

    assert daemon.requests[0].url.params["state"] == "EXPIRED"
    assert "1Z999" in capsys.readouterr().out


def test_events_are_shown_oldest_first_with_detail_as_key_values(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    newest_first = [
        {"seq": 8, "ts": 1_700_000_100, "kind": "door_closed", "severity": "info",
         "actor": "courier:bob", "compartment": "A07", "detail": {"operation": 5}},
        {"seq": 7, "ts": 1_700_000_000, "kind": "door_opened", "severity": "info",
         "actor": "courier:bob", "compartment": "A07", "detail": {"purpose": "deposit"}},
    ]  # fmt: skip
    daemon.on("GET", "/v1/events", (200, {"events": newest_first}))

    assert ctl.main(["events", "--limit", "2"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert daemon.requests[0].url.params["newest_first"] == "true"
    assert lines[1].startswith("7 ") and lines[1].endswith("purpose=deposit")
    assert lines[2].startswith("8 ") and lines[2].endswith("operation=5")


def test_events_show_a_gs1_separator_as_gs_and_never_a_raw_control_byte(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    stored = {"seq": 9, "ts": 1_700_000_200, "kind": "parcel_stored", "severity": "info",
              "actor": "courier:bob", "compartment": "A07",
              "detail": {"barcode": "0109501101530003\x1d10ABC", "note": "\x1b[2J"}}  # fmt: skip
    daemon.on("GET", "/v1/events", (200, {"events": [stored]}))

    assert ctl.main(["events"]) == 0

    out = capsys.readouterr().out
    assert "barcode=0109501101530003<GS>10ABC" in out
    assert "note=\\x1b[2J" in out
    assert not any(ord(c) < 32 and c != "\n" for c in out)


def test_a_broken_event_log_says_where_and_exits_1(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = {"ok": False, "rows": 120, "first_bad_seq": 42, "reason": "hash does not match"}
    daemon.on("GET", "/v1/events/verify", (200, broken))

    assert ctl.main(["events", "--verify"]) == 1

    assert capsys.readouterr().out.strip() == "event log BROKEN at event 42: hash does not match"


def test_an_intact_event_log_says_how_many_events(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    intact = {"ok": True, "rows": 120, "first_bad_seq": None, "reason": ""}
    daemon.on("GET", "/v1/events/verify", (200, intact))

    assert ctl.main(["events", "--verify"]) == 0

    assert capsys.readouterr().out.strip() == "event log intact: 120 events"


class InterruptedStream(httpx.SyncByteStream):
    """A stream that delivers some bytes, then the person presses Ctrl-C."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        raise KeyboardInterrupt


def test_events_follow_prints_new_events_until_ctrl_c(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str]
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
    daemon.on("GET", "/v1/events", (200, {"events": [old]}))
    daemon.on("GET", "/v1/stream", httpx.Response(200, stream=InterruptedStream(chunks)))

    assert ctl.main(["events", "--follow"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["SEQ", "3", "4"]
    assert "door_forced" in lines[2] and "B02" in lines[2]


def test_events_follow_reports_a_closed_stream(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    daemon.on("GET", "/v1/events", (200, {"events": []}))
    daemon.on("GET", "/v1/stream", httpx.Response(200, content=b": connected\n\n"))

    assert ctl.main(["events", "--follow"]) == 3

    assert "closed the event stream" in capsys.readouterr().err


# -- errors -------------------------------------------------------------------------------


def test_an_api_error_goes_to_stderr_and_exits_1(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str], pin: str
) -> None:
    refusal = {"error": "no compartment free for size L", "kind": "NoCompartmentFree"}
    daemon.on("POST", "/v1/deposits", (409, refusal))

    assert ctl.main(["deposit", "1Z999", "--size", "L"]) == 1

    captured = capsys.readouterr()
    assert captured.err == "lockerctl: no compartment free for size L\n"
    assert captured.out == ""


def test_a_request_validation_error_is_readable(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str], pin: str
) -> None:
    detail = [{"type": "missing", "loc": ["body", "reason"], "msg": "Field required"}]
    daemon.on("POST", "/v1/compartments/A07/out-of-service", (422, {"detail": detail}))

    assert ctl.main(["out-of-service", "a07", "--reason", "x"]) == 1

    assert capsys.readouterr().err == "lockerctl: reason: Field required\n"


def test_an_unreachable_daemon_exits_3_and_says_what_to_check(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("No such file or directory", request=request)

    monkeypatch.setattr(
        ctl, "make_client", lambda socket: ApiClient(socket, transport=httpx.MockTransport(refuse))
    )

    assert ctl.main(["status", "--socket", "/nowhere/api.sock"]) == 3

    assert "Is the daemon running? No socket at /nowhere/api.sock" in capsys.readouterr().err


def test_a_missing_socket_is_unreachable_with_the_real_transport(
    tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ctl, "make_client", ApiClient)
    missing = tmp_path / "api.sock"

    assert ctl.main(["status", "--socket", str(missing)]) == 3

    assert f"No socket at {missing}" in capsys.readouterr().err


def test_a_throttled_keypad_exits_4_with_the_wait_and_without_the_code(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    throttled = httpx.Response(
        429,
        json={"error": "Too many wrong codes.", "kind": "Throttled", "retry_after": 29.2},
        headers={"Retry-After": "30"},
    )
    daemon.on("POST", "/v1/pickup", throttled)

    assert ctl.main(["pickup", "31415926"]) == 4

    captured = capsys.readouterr()
    assert captured.err == "lockerctl: Too many wrong codes.\nlockerctl: try again in 30 s\n"
    assert "31415926" not in captured.err + captured.out


def test_a_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert ctl.main(["announce", "1Z999"]) == 2  # --size is required
    assert ctl.main([]) == 2
    assert "lockerctl" in capsys.readouterr().err


@pytest.mark.parametrize("command", [[]] + [[name] for name, *_ in ctl.COMMANDS])
def test_help_for_every_command_exits_0(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert ctl.main([*command, "--help"]) == 0

    shown = capsys.readouterr().out
    assert "--json" in shown and "--socket" in shown and "lockerctl" in shown


# -- signing in ---------------------------------------------------------------------------


def test_pin_from_locker_pin_signs_in_and_the_session_is_always_ended(
    daemon: FakeDaemon,
    capsys: pytest.CaptureFixture[str],
    pin: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOCKER_USER", "ann")
    daemon.on("POST", "/v1/compartments/A07/open", (502, {"error": "Door A07 did not open."}))

    assert ctl.main(["open", "A07"]) == 1

    (sign_in,) = daemon.calls("POST", "/v1/sessions")
    assert daemon.body(sign_in) == {"pin": pin, "user": "ann"}
    (opened,) = daemon.calls("POST", "/v1/compartments/A07/open")
    assert opened.headers["Authorization"] == "Bearer tok-1"
    (sign_out,) = daemon.calls("DELETE", "/v1/sessions")
    assert sign_out.headers["Authorization"] == "Bearer tok-1"
    captured = capsys.readouterr()
    assert pin not in captured.out + captured.err


def test_without_a_pin_or_a_terminal_the_command_explains_and_sends_nothing(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ctl.main(["open", "A07"]) == 2

    assert "set LOCKER_PIN or run it from a terminal" in capsys.readouterr().err
    assert daemon.requests == []


def test_the_pin_is_asked_for_on_a_terminal(
    daemon: FakeDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ctl_io, "is_terminal", lambda: True)
    monkeypatch.setattr(ctl_io.getpass, "getpass", lambda prompt: "777111")
    daemon.on("POST", "/v1/compartments/A07/in-service", (200, {"id": "A07", "state": "AVAILABLE"}))

    assert ctl.main(["in-service", "A07"]) == 0

    assert daemon.body(daemon.calls("POST", "/v1/sessions")[0]) == {"pin": "777111"}


def test_a_wrong_pin_is_an_api_error(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str], pin: str
) -> None:
    daemon.on("POST", "/v1/sessions", (401, {"error": "Wrong PIN.", "kind": "AuthError"}))

    assert ctl.main(["returns"]) == 1

    assert capsys.readouterr().err == "lockerctl: Wrong PIN.\n"
    assert daemon.calls("POST", "/v1/returns/next") == []


# -- doors --------------------------------------------------------------------------------

DOOR_OPEN = "Door A07 is open: put the parcel in and close the door."
STORED = "Stored in A07; the recipient has been notified."


def test_deposit_waits_until_the_door_is_closed_and_says_what_happened(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str], pin: str
) -> None:
    daemon.on("POST", "/v1/deposits", (200, op("OPENED", True, DOOR_OPEN)))
    daemon.on(
        "GET",
        "/v1/operations/5",
        (200, op("OPENED", True, DOOR_OPEN)),
        (200, op("CLOSED", False, STORED)),
    )

    assert ctl.main(["deposit", "1Z999", "--size", "m", "--phone", "+4915112345678"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == DOOR_OPEN
    assert lines[1].startswith("Door A07 is still open after")
    assert lines[-1] == STORED
    deposit = daemon.calls("POST", "/v1/deposits")[0]
    assert daemon.body(deposit) == {"barcode": "1Z999", "size": "M", "phone": "+4915112345678"}
    assert [r.url.params["wait"] for r in daemon.calls("GET", "/v1/operations/5")] == ["30.0"] * 2
    assert len(daemon.calls("DELETE", "/v1/sessions")) == 1


def test_deposit_json_prints_only_the_final_operation(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str], pin: str
) -> None:
    daemon.on("POST", "/v1/deposits", (200, op("OPENED", True, DOOR_OPEN)))
    daemon.on("GET", "/v1/operations/5", (200, op("CLOSED", False, STORED)))

    assert ctl.main(["deposit", "1Z999", "--json"]) == 0

    assert json.loads(capsys.readouterr().out) == op("CLOSED", False, STORED)


def test_deposit_no_wait_returns_once_the_door_is_open(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str], pin: str
) -> None:
    daemon.on("POST", "/v1/deposits", (200, op("OPENED", True, DOOR_OPEN)))

    assert ctl.main(["deposit", "1Z999", "--accessible", "--no-wait"]) == 0

    assert capsys.readouterr().out == DOOR_OPEN + "\n"
    assert daemon.body(daemon.calls("POST", "/v1/deposits")[0])["accessible"] is True
    assert daemon.calls("GET", "/v1/operations/5") == []


def test_pickup_needs_no_sign_in_and_ends_with_thank_you(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    take = "Door A07 is open: take your parcel and close the door."
    daemon.on("POST", "/v1/pickup", (200, op("OPENED", True, take)))
    daemon.on("GET", "/v1/operations/5", (200, op("CLOSED", False, "Thank you!")))

    assert ctl.main(["pickup", "12345678"]) == 0

    assert capsys.readouterr().out.splitlines() == [take, "Thank you!"]
    assert daemon.calls("POST", "/v1/sessions") == []


def test_a_door_that_did_not_open_fails_the_pickup(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    failed = "Door A07 did not open. Please call +49 30 1234567."
    daemon.on("POST", "/v1/pickup", (200, op("UNLOCK_SENT", True, "Opening door A07…")))
    daemon.on("GET", "/v1/operations/5", (200, op("OPEN_NOT_DETECTED", False, failed)))

    assert ctl.main(["pickup", "12345678"]) == 1

    assert capsys.readouterr().out.splitlines()[-1] == failed


def test_ctrl_c_while_waiting_exits_130_and_still_signs_out(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str], pin: str
) -> None:
    daemon.on("POST", "/v1/deposits", (200, op("OPENED", True, DOOR_OPEN)))
    daemon.on("GET", "/v1/operations/5", httpx.Response(200, stream=InterruptedStream([])))

    assert ctl.main(["deposit", "1Z999"]) == 130

    assert "interrupted" in capsys.readouterr().err
    assert len(daemon.calls("DELETE", "/v1/sessions")) == 1


def test_returns_opens_each_door_until_there_are_no_more(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str], pin: str
) -> None:
    first = {**op("OPENED", True, "Door A03: take out 1Z111.", "A03", 11), "barcode": "1Z111",
             "remaining": 1}  # fmt: skip
    second = {**op("OPENED", True, "Door B01: take out 1Z222.", "B01", 12), "barcode": "1Z222",
              "remaining": 0}  # fmt: skip
    daemon.on(
        "POST",
        "/v1/returns/next",
        (200, first),
        (200, second),
        (404, {"error": "No expired parcels to collect.", "kind": "NotFound"}),
    )
    daemon.on("GET", "/v1/operations/11", (200, op("CLOSED", False, "Thanks.", "A03", 11)))
    daemon.on("GET", "/v1/operations/12", (200, op("CLOSED", False, "Thanks.", "B01", 12)))

    assert ctl.main(["returns"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert "[x] 1Z111 from A03" in lines
    assert "[x] 1Z222 from B01" in lines
    assert lines[-1] == "Collected 2 of 2 expired parcels for return."
    assert len(daemon.calls("POST", "/v1/returns/next")) == 3
    assert len(daemon.calls("DELETE", "/v1/sessions")) == 1


def test_returns_json_is_a_list_of_the_final_views(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str], pin: str
) -> None:
    first = {**op("OPENED", True, "Take out 1Z111.", "A03", 11), "barcode": "1Z111"}
    daemon.on("POST", "/v1/returns/next", (200, first), (404, {"error": "No expired parcels."}))
    daemon.on("GET", "/v1/operations/11", (200, op("CLOSED", False, "Thanks.", "A03", 11)))

    assert ctl.main(["returns", "--json"]) == 0

    (record,) = json.loads(capsys.readouterr().out)
    assert record["barcode"] == "1Z111" and record["status"] == "CLOSED"


def test_returns_with_nothing_expired_says_so(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str], pin: str
) -> None:
    daemon.on("POST", "/v1/returns/next", (404, {"error": "No expired parcels to collect."}))

    assert ctl.main(["returns"]) == 0

    assert capsys.readouterr().out == "No expired parcels to collect.\n"


# -- jobs ---------------------------------------------------------------------------------


def job(state: str, *results: tuple[str, bool, str], kind: str = "selftest") -> dict[str, Any]:
    return {
        "id": 3,
        "kind": kind,
        "state": state,
        "done": len(results),
        "total": 3,
        "results": [{"compartment": c, "ok": ok, "detail": d} for c, ok, d in results],
    }


A01 = ("A01", True, "")
A02 = ("A02", False, "door did not open")
A03 = ("A03", True, "")


def test_selftest_shows_progress_and_fails_when_a_door_failed(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str], pin: str
) -> None:
    daemon.on("POST", "/v1/selftest", (200, job("running", A01)))
    daemon.on(
        "GET", "/v1/jobs/3", (200, job("running", A01, A02)), (200, job("done", A01, A02, A03))
    )

    assert ctl.main(["selftest", "--take-out-of-service"]) == 1

    assert capsys.readouterr().out.splitlines() == [
        "[1/3] A01 ok",
        "[2/3] A02 FAILED: door did not open",
        "[3/3] A03 ok",
        "Self-test: 2 of 3 passed; FAILED: A02. FAIL",
    ]
    started = daemon.calls("POST", "/v1/selftest")[0]
    assert daemon.body(started) == {"take_out_of_service": True}


def test_selftest_passes_when_every_door_worked(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str], pin: str
) -> None:
    daemon.on("POST", "/v1/selftest", (200, job("running")))
    daemon.on("GET", "/v1/jobs/3", (200, job("done", A01, A03, ("A04", True, ""))))

    assert ctl.main(["selftest"]) == 0

    assert capsys.readouterr().out.splitlines()[-1] == "Self-test: 3 of 3 passed. PASS"


def test_open_all_without_a_terminal_needs_yes(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str], pin: str
) -> None:
    assert ctl.main(["open-all"]) == 2

    assert "add --yes" in capsys.readouterr().err
    assert daemon.requests == []


def test_open_all_with_yes_opens_every_door(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str], pin: str
) -> None:
    done = job("done", A01, A03, ("A04", True, ""), kind="open_all")
    daemon.on("POST", "/v1/compartments/open-all", (200, done))

    assert ctl.main(["open-all", "--yes"]) == 0

    assert capsys.readouterr().out.splitlines()[-1] == "Open all: 3 of 3 passed"
    assert daemon.calls("GET", "/v1/jobs/3") == []


EXTENDED = {"barcode": "1Z/99", "state": "STORED", "expires_at": 1_800_000_000.0,
            "extended_hours": 48.0}  # fmt: skip


def test_extend_signs_in_as_a_technician_and_says_until_when(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str], pin: str
) -> None:
    daemon.on("POST", "/v1/parcels/1Z/99/extend", (200, EXTENDED))

    assert ctl.main(["extend", "1Z/99", "--hours", "24"]) == 0

    (request,) = daemon.calls("POST", "/v1/parcels/1Z/99/extend")
    assert request.url.raw_path == b"/v1/parcels/1Z%2F99/extend"
    assert daemon.body(request) == {"hours": 24.0}
    assert request.headers["Authorization"] == "Bearer tok-1"
    until = ctl_format.local_time(EXTENDED["expires_at"])
    assert capsys.readouterr().out == (
        f"1Z/99 may be picked up until {until} (extended by 48 h in all).\n"
    )


def test_extend_json_prints_the_parcel_the_api_returned(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str], pin: str
) -> None:
    daemon.on("POST", "/v1/parcels/1Z/99/extend", (200, EXTENDED))

    assert ctl.main(["extend", "1Z/99", "--hours", "1.5", "--json"]) == 0

    assert json.loads(capsys.readouterr().out) == EXTENDED


@pytest.mark.parametrize("hours", ["0", "-3", "nan", "soon"])
def test_extend_by_no_hours_is_a_usage_error(
    daemon: FakeDaemon, capsys: pytest.CaptureFixture[str], pin: str, hours: str
) -> None:
    assert ctl.main(["extend", "1Z999", "--hours", hours]) == 2

    assert "--hours" in capsys.readouterr().err
    assert daemon.requests == []


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
