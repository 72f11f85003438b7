"""``lockerctl pickup`` against a scripted daemon: the code is asked for without echo, or
read from standard input, so it never stands in the process list; ``--help`` says why."""

from __future__ import annotations

import io

import pytest

from kiosk import lockerctl as ctl
from kiosk.lockerctl import io as ctl_io
from tests.unit.scripted_daemon import ScriptedDaemon, op


def test_pickup_without_a_code_reads_it_from_stdin(
    scripted_daemon: ScriptedDaemon,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scripted_daemon.on("POST", "/v1/pickup", (200, op("CLOSED", False, "Thank you!")))
    monkeypatch.setattr("sys.stdin", io.StringIO(" 31415926 \nignored\n"))

    assert ctl.main(["pickup"]) == 0

    assert scripted_daemon.body(scripted_daemon.calls("POST", "/v1/pickup")[0]) == {
        "code": "31415926"
    }
    assert "31415926" not in "".join(capsys.readouterr())


def test_pickup_at_a_terminal_asks_for_the_code_without_echo(
    scripted_daemon: ScriptedDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    monkeypatch.setattr(ctl_io, "is_terminal", lambda: True)
    monkeypatch.setattr(ctl_io.getpass, "getpass", lambda prompt: asked.append(prompt) or "2718")
    scripted_daemon.on("POST", "/v1/pickup", (200, op("CLOSED", False, "Thank you!")))

    assert ctl.main(["pickup"]) == 0

    assert asked == ["Pickup code: "]
    assert scripted_daemon.body(scripted_daemon.calls("POST", "/v1/pickup")[0]) == {"code": "2718"}


def test_pickup_with_no_code_anywhere_is_a_usage_error_and_asks_nothing_of_the_daemon(
    scripted_daemon: ScriptedDaemon,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))

    assert ctl.main(["pickup"]) == 2

    assert capsys.readouterr().err == (
        "lockerctl: no pickup code given: type it at the prompt, or pipe it in "
        "(lockerctl pickup < code.txt)\n"
    )
    assert scripted_daemon.calls("POST", "/v1/pickup") == []


def test_pickup_help_says_why_the_code_is_not_an_argument(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert ctl.main(["pickup", "--help"]) == 0

    text = " ".join(capsys.readouterr().out.split())
    assert "Leave CODE out: lockerctl then asks for it without showing it" in text
    assert "every user of this machine in the process list (ps)" in text
    assert "lockerctl pickup < code.txt" in text
