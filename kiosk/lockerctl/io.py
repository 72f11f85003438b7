"""What every ``lockerctl`` command shares: exit codes, output for a person or a
script, errors on this side of the socket, and the prompts for a PIN and a pickup code."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from kiosk.protocol.client import ApiClient, ApiError, DaemonUnreachable
from kiosk.protocol.states import OpStatus
from kiosk.protocol.views import JobView

PROG = "lockerctl"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_THROTTLED = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130
# Seconds per long-poll of an operation or job; a live answer after this long means "no news".
POLL_S = 30.0
DOOR_OPEN_STATUSES = {OpStatus.OPENED, OpStatus.LEFT_OPEN}

Handler = Callable[[ApiClient, argparse.Namespace, "Out"], int]


def is_terminal() -> bool:
    """Whether a person can be asked something (a PIN, a confirmation)."""
    return sys.stdin.isatty()


class CtlError(Exception):
    """A failure on this side of the socket, with the exit code it deserves."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


class Out:
    """Where results go: text for a person, or the API's JSON for a script, never both."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def say(self, text: str) -> None:
        if not self.as_json:
            print(text, flush=True)

    def data(self, data: Any, compact: bool = False) -> None:
        if self.as_json:
            indent = None if compact else 2
            print(json.dumps(data, indent=indent, ensure_ascii=False), flush=True)

    def show(self, data: Any, text: str) -> None:
        self.data(data)
        self.say(text)


def warn(text: str) -> None:
    print(f"{PROG}: {text}", file=sys.stderr, flush=True)


# -- signing in ---------------------------------------------------------------------------


def read_user(role: str, given: str | None) -> str:
    """Who signs in: ``--user``, ``$LOCKER_USER`` or asked for at the terminal."""
    user = given or os.environ.get("LOCKER_USER")
    if user:
        return user
    if not is_terminal():
        raise CtlError(
            f"this command signs in as a {role}: name them with --user NAME or LOCKER_USER",
            EXIT_USAGE,
        )
    user = input(f"{role.capitalize()} name: ").strip()
    if not user:
        raise CtlError("no name entered", EXIT_USAGE)
    return user


def read_pin(role: str) -> str:
    pin = os.environ.get("LOCKER_PIN")
    if pin:
        return pin
    if not is_terminal():
        raise CtlError(
            f"this command needs a {role} PIN: set LOCKER_PIN or run it from a terminal",
            EXIT_USAGE,
        )
    pin = getpass.getpass(f"{role.capitalize()} PIN: ")
    if not pin:
        raise CtlError("no PIN entered", EXIT_USAGE)
    return pin


def read_pickup_code() -> str:
    """A pickup code typed at a prompt that does not echo it, or, when standard input is
    not a terminal, its first line. Never on the command line: every local user can read
    a process's arguments (``ps``), and a shell keeps them in its history."""
    typed = getpass.getpass("Pickup code: ") if is_terminal() else sys.stdin.readline()
    code = typed.strip()
    if not code:
        raise CtlError(
            "no pickup code given: type it at the prompt, or pipe it in "
            "(lockerctl pickup < code.txt)",
            EXIT_USAGE,
        )
    return code


def sign_out_quietly(client: ApiClient) -> None:
    """End the session; a daemon that went away must not hide the error that matters."""
    with contextlib.suppress(ApiError, DaemonUnreachable):
        client.sign_out()


def follow_job(
    client: ApiClient,
    job: JobView,
    out: Out,
    line: Callable[[int, int, dict[str, Any]], str],
) -> JobView:
    """Print ``line(n, total, result)`` for each new result of a job (open-all,
    self-test, discover) until it is done; return its last view."""
    printed = 0

    def show_new(view: JobView) -> None:
        nonlocal printed
        results = view.get("results") or []
        total = view.get("total") or len(results)
        for result in results[printed:]:
            printed += 1
            out.say(line(printed, total, result))

    show_new(job)
    final = job
    if job.get("state") != "done":
        for final in client.watch_job(job["id"], poll=POLL_S):
            show_new(final)
    return final
