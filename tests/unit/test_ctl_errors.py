"""``lockerctl`` against a scripted daemon: what a person is told, and the exit status,
when something goes wrong (a refusal, no daemon, a throttled keypad, a usage error), and
how it signs in with a PIN and always signs out.
"""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest

from kiosk import lockerctl as ctl
from kiosk.lockerctl import io as ctl_io
from kiosk.protocol.client import ApiClient
from tests.unit.scripted_daemon import ScriptedDaemon


def test_an_api_error_goes_to_stderr_and_exits_1(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str], technician_pin: str
) -> None:
    refusal = {"error": "no compartment free for size L", "kind": "NoCompartmentFree"}
    scripted_daemon.on("POST", "/v1/deposits", (409, refusal))

    assert ctl.main(["deposit", "1Z999", "--size", "L"]) == 1

    captured = capsys.readouterr()
    assert captured.err == "lockerctl: no compartment free for size L\n"
    assert captured.out == ""


def test_a_request_validation_error_is_readable(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str], technician_pin: str
) -> None:
    detail = [{"type": "missing", "loc": ["body", "reason"], "msg": "Field required"}]
    scripted_daemon.on("POST", "/v1/compartments/A07/out-of-service", (422, {"detail": detail}))

    assert ctl.main(["out-of-service", "a07", "--reason", "x"]) == 1

    assert capsys.readouterr().err == "lockerctl: reason: Field required\n"


def test_an_unreachable_daemon_exits_3_and_says_what_to_check(
    scripted_daemon: ScriptedDaemon,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
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


def test_a_socket_whose_queue_is_full_says_so_not_that_the_daemon_is_gone(
    tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ctl, "make_client", ApiClient)
    path = str(tmp_path / "api.sock")
    with socket.socket(socket.AF_UNIX) as flooded:  # a daemon that accepts nothing more
        flooded.bind(path)
        flooded.listen(0)
        crowd = []
        while True:  # fill its queue, as a crowd reconnecting faster than it is refused
            sock = socket.socket(socket.AF_UNIX)
            sock.setblocking(False)
            crowd.append(sock)
            try:
                sock.connect(path)
            except BlockingIOError:
                break
        try:
            assert ctl.main(["status", "--socket", path]) == 3
        finally:
            for sock in crowd:
                sock.close()
    err = capsys.readouterr().err
    assert f"The daemon's socket {path} has no room for another connection" in err
    assert "Is the daemon running?" not in err


def test_a_throttled_keypad_exits_4_with_the_wait_and_without_the_code(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    throttled = httpx.Response(
        429,
        json={"error": "Too many wrong codes.", "kind": "Throttled", "retry_after": 29.2},
        headers={"Retry-After": "30"},
    )
    scripted_daemon.on("POST", "/v1/pickup", throttled)

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
    scripted_daemon: ScriptedDaemon,
    capsys: pytest.CaptureFixture[str],
    technician_pin: str,
) -> None:
    scripted_daemon.on(
        "POST", "/v1/compartments/A07/open", (502, {"error": "Door A07 did not open."})
    )

    assert ctl.main(["open", "A07"]) == 1

    (sign_in,) = scripted_daemon.calls("POST", "/v1/sessions")
    assert scripted_daemon.body(sign_in) == {"pin": technician_pin, "user": "ann"}
    (opened,) = scripted_daemon.calls("POST", "/v1/compartments/A07/open")
    assert opened.headers["Authorization"] == "Bearer tok-1"
    (sign_out,) = scripted_daemon.calls("DELETE", "/v1/sessions")
    assert sign_out.headers["Authorization"] == "Bearer tok-1"
    captured = capsys.readouterr()
    assert technician_pin not in captured.out + captured.err


def test_without_a_name_or_a_terminal_the_command_explains_and_sends_nothing(
    scripted_daemon: ScriptedDaemon,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOCKER_PIN", "48291375")
    assert ctl.main(["open", "A07"]) == 2

    assert (
        "this command signs in as a technician: name them with --user NAME or LOCKER_USER"
        in capsys.readouterr().err
    )
    assert scripted_daemon.calls("POST", "/v1/sessions") == []


def test_the_name_given_with_user_signs_in_with_the_pin(
    scripted_daemon: ScriptedDaemon,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOCKER_PIN", "48291375")
    scripted_daemon.on(
        "POST", "/v1/compartments/A07/open", (502, {"error": "Door A07 did not open."})
    )

    assert ctl.main(["--user", "Bea", "open", "A07"]) == 1

    (sign_in,) = scripted_daemon.calls("POST", "/v1/sessions")
    assert scripted_daemon.body(sign_in) == {"pin": "48291375", "user": "Bea"}


def test_without_a_pin_or_a_terminal_the_command_explains_and_sends_nothing(
    scripted_daemon: ScriptedDaemon,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOCKER_USER", "ann")
    assert ctl.main(["open", "A07"]) == 2

    assert "set LOCKER_PIN or run it from a terminal" in capsys.readouterr().err
    assert scripted_daemon.requests == []


def test_the_name_and_pin_are_asked_for_on_a_terminal(
    scripted_daemon: ScriptedDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ctl_io, "is_terminal", lambda: True)
    asked: list[str] = []
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or " tomas ")
    monkeypatch.setattr(ctl_io.getpass, "getpass", lambda prompt: "77711123")
    scripted_daemon.on(
        "POST", "/v1/compartments/A07/in-service", (200, {"id": "A07", "state": "AVAILABLE"})
    )

    assert ctl.main(["in-service", "A07"]) == 0

    assert asked == ["Technician name: "]
    assert scripted_daemon.body(scripted_daemon.calls("POST", "/v1/sessions")[0]) == {
        "pin": "77711123",
        "user": "tomas",
    }


def test_a_wrong_pin_is_an_api_error(
    scripted_daemon: ScriptedDaemon, capsys: pytest.CaptureFixture[str], technician_pin: str
) -> None:
    scripted_daemon.on("POST", "/v1/sessions", (401, {"error": "Wrong PIN.", "kind": "AuthError"}))

    assert ctl.main(["returns"]) == 1

    assert capsys.readouterr().err == "lockerctl: Wrong PIN.\n"
    assert scripted_daemon.calls("POST", "/v1/returns/next") == []
