"""``lockerctl`` against a scripted daemon: the commands that open doors (deposit, pickup,
returns) and wait for them to close, and the technician's jobs (self-test, open all,
extending a hold).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from kiosk import lockerctl as ctl
from kiosk.lockerctl import format as ctl_format
from tests.unit.scripted_daemon import InterruptedStream, ScriptedDaemon, op

DOOR_OPEN = "Door A07 is open: put the parcel in and close the door."
STORED = "Stored in A07; the recipient has been notified."


def test_deposit_waits_until_the_door_is_closed_and_says_what_happened(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str], technician_pin: str
) -> None:
    scripted_daemon.on("POST", "/v1/deposits", (200, op("OPENED", True, DOOR_OPEN)))
    scripted_daemon.on(
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
    deposit = scripted_daemon.calls("POST", "/v1/deposits")[0]
    assert scripted_daemon.body(deposit) == {
        "barcode": "1Z999",
        "size": "M",
        "phone": "+4915112345678",
    }
    assert [r.url.params["wait"] for r in scripted_daemon.calls("GET", "/v1/operations/5")] == [
        "30.0"
    ] * 2
    assert len(scripted_daemon.calls("DELETE", "/v1/sessions")) == 1


def test_deposit_json_prints_only_the_final_operation(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str], technician_pin: str
) -> None:
    scripted_daemon.on("POST", "/v1/deposits", (200, op("OPENED", True, DOOR_OPEN)))
    scripted_daemon.on("GET", "/v1/operations/5", (200, op("CLOSED", False, STORED)))

    assert ctl.main(["deposit", "1Z999", "--json"]) == 0

    assert json.loads(capsys.readouterr().out) == op("CLOSED", False, STORED)


def test_deposit_no_wait_returns_once_the_door_is_open(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str], technician_pin: str
) -> None:
    scripted_daemon.on("POST", "/v1/deposits", (200, op("OPENED", True, DOOR_OPEN)))

    assert ctl.main(["deposit", "1Z999", "--accessible", "--no-wait"]) == 0

    assert capsys.readouterr().out == DOOR_OPEN + "\n"
    assert (
        scripted_daemon.body(scripted_daemon.calls("POST", "/v1/deposits")[0])["accessible"] is True
    )
    assert scripted_daemon.calls("GET", "/v1/operations/5") == []


def test_pickup_needs_no_sign_in_and_ends_with_thank_you(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    take = "Door A07 is open: take your parcel and close the door."
    scripted_daemon.on("POST", "/v1/pickup", (200, op("OPENED", True, take)))
    scripted_daemon.on("GET", "/v1/operations/5", (200, op("CLOSED", False, "Thank you!")))

    assert ctl.main(["pickup", "12345678"]) == 0

    assert capsys.readouterr().out.splitlines() == [take, "Thank you!"]
    assert scripted_daemon.calls("POST", "/v1/sessions") == []


def test_a_door_that_did_not_open_fails_the_pickup(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    failed = "Door A07 did not open. Please call +49 30 1234567."
    scripted_daemon.on("POST", "/v1/pickup", (200, op("UNLOCK_SENT", True, "Opening door A07…")))
    scripted_daemon.on("GET", "/v1/operations/5", (200, op("OPEN_NOT_DETECTED", False, failed)))

    assert ctl.main(["pickup", "12345678"]) == 1

    assert capsys.readouterr().out.splitlines()[-1] == failed


def test_ctrl_c_while_waiting_exits_130_and_still_signs_out(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str], technician_pin: str
) -> None:
    scripted_daemon.on("POST", "/v1/deposits", (200, op("OPENED", True, DOOR_OPEN)))
    scripted_daemon.on("GET", "/v1/operations/5", httpx.Response(200, stream=InterruptedStream([])))

    assert ctl.main(["deposit", "1Z999"]) == 130

    assert "interrupted" in capsys.readouterr().err
    assert len(scripted_daemon.calls("DELETE", "/v1/sessions")) == 1


def test_returns_opens_each_door_until_there_are_no_more(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str], technician_pin: str
) -> None:
    first = {**op("OPENED", True, "Door A03: take out 1Z111.", "A03", 11), "barcode": "1Z111",
             "remaining": 1}  # fmt: skip
    second = {**op("OPENED", True, "Door B01: take out 1Z222.", "B01", 12), "barcode": "1Z222",
              "remaining": 0}  # fmt: skip
    scripted_daemon.on(
        "POST",
        "/v1/returns/next",
        (200, first),
        (200, second),
        (404, {"error": "No expired parcels to collect.", "kind": "NotFound"}),
    )
    scripted_daemon.on("GET", "/v1/operations/11", (200, op("CLOSED", False, "Thanks.", "A03", 11)))
    scripted_daemon.on("GET", "/v1/operations/12", (200, op("CLOSED", False, "Thanks.", "B01", 12)))

    assert ctl.main(["returns"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert "[x] 1Z111 from A03" in lines
    assert "[x] 1Z222 from B01" in lines
    assert lines[-1] == "Collected 2 of 2 expired parcels for return."
    assert len(scripted_daemon.calls("POST", "/v1/returns/next")) == 3
    assert len(scripted_daemon.calls("DELETE", "/v1/sessions")) == 1


def test_returns_json_is_a_list_of_the_final_views(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str], technician_pin: str
) -> None:
    first = {**op("OPENED", True, "Take out 1Z111.", "A03", 11), "barcode": "1Z111"}
    scripted_daemon.on(
        "POST", "/v1/returns/next", (200, first), (404, {"error": "No expired parcels."})
    )
    scripted_daemon.on("GET", "/v1/operations/11", (200, op("CLOSED", False, "Thanks.", "A03", 11)))

    assert ctl.main(["returns", "--json"]) == 0

    (record,) = json.loads(capsys.readouterr().out)
    assert record["barcode"] == "1Z111" and record["status"] == "CLOSED"


def test_returns_with_nothing_expired_says_so(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str], technician_pin: str
) -> None:
    scripted_daemon.on(
        "POST", "/v1/returns/next", (404, {"error": "No expired parcels to collect."})
    )

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
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str], technician_pin: str
) -> None:
    scripted_daemon.on("POST", "/v1/selftest", (200, job("running", A01)))
    scripted_daemon.on(
        "GET", "/v1/jobs/3", (200, job("running", A01, A02)), (200, job("done", A01, A02, A03))
    )

    assert ctl.main(["selftest", "--take-out-of-service"]) == 1

    assert capsys.readouterr().out.splitlines() == [
        "[1/3] A01 ok",
        "[2/3] A02 FAILED: door did not open",
        "[3/3] A03 ok",
        "Self-test: 2 of 3 passed; FAILED: A02. FAIL",
    ]
    started = scripted_daemon.calls("POST", "/v1/selftest")[0]
    assert scripted_daemon.body(started) == {"take_out_of_service": True, "include_parcels": False}


def test_selftest_passes_when_every_door_worked(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str], technician_pin: str
) -> None:
    scripted_daemon.on("POST", "/v1/selftest", (200, job("running")))
    scripted_daemon.on("GET", "/v1/jobs/3", (200, job("done", A01, A03, ("A04", True, ""))))

    assert ctl.main(["selftest"]) == 0

    assert capsys.readouterr().out.splitlines()[-1] == "Self-test: 3 of 3 passed. PASS"


def test_open_all_without_a_terminal_needs_yes(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str], technician_pin: str
) -> None:
    assert ctl.main(["open-all"]) == 2

    assert "add --yes" in capsys.readouterr().err
    assert scripted_daemon.requests == []


def test_open_all_with_yes_opens_every_door(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str], technician_pin: str
) -> None:
    done = job("done", A01, A03, ("A04", True, ""), kind="open_all")
    scripted_daemon.on("POST", "/v1/compartments/open-all", (200, done))

    assert ctl.main(["open-all", "--yes"]) == 0

    assert capsys.readouterr().out.splitlines()[-1] == "Open all: 3 of 3 passed"
    assert scripted_daemon.calls("GET", "/v1/jobs/3") == []


EXTENDED = {"barcode": "1Z/99", "state": "STORED", "expires_at": 1_800_000_000.0,
            "extended_hours": 48.0}  # fmt: skip


def test_extend_signs_in_as_a_technician_and_says_until_when(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str], technician_pin: str
) -> None:
    scripted_daemon.on("POST", "/v1/parcels/1Z/99/extend", (200, EXTENDED))

    assert ctl.main(["extend", "1Z/99", "--hours", "24"]) == 0

    (request,) = scripted_daemon.calls("POST", "/v1/parcels/1Z/99/extend")
    assert request.url.raw_path == b"/v1/parcels/1Z%2F99/extend"
    assert scripted_daemon.body(request) == {"hours": 24.0}
    assert request.headers["Authorization"] == "Bearer tok-1"
    until = ctl_format.local_time(EXTENDED["expires_at"])
    assert capsys.readouterr().out == (
        f"1Z/99 may be picked up until {until} (extended by 48 h in all).\n"
    )


def test_extend_json_prints_the_parcel_the_api_returned(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str], technician_pin: str
) -> None:
    scripted_daemon.on("POST", "/v1/parcels/1Z/99/extend", (200, EXTENDED))

    assert ctl.main(["extend", "1Z/99", "--hours", "1.5", "--json"]) == 0

    assert json.loads(capsys.readouterr().out) == EXTENDED


@pytest.mark.parametrize("hours", ["0", "-3", "nan", "soon"])
def test_extend_by_no_hours_is_a_usage_error(
    scripted_daemon: ScriptedDaemon,
    capsys: pytest.CaptureFixture[str],
    technician_pin: str,
    hours: str,
) -> None:
    assert ctl.main(["extend", "1Z999", "--hours", hours]) == 2

    assert "--hours" in capsys.readouterr().err
    assert scripted_daemon.requests == []
