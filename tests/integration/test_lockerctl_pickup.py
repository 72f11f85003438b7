"""``lockerctl pickup`` against the real daemon, with the code kept out of the process list:
typed at a prompt that does not echo it (on a real pseudo-terminal), or read from
standard input. While ``lockerctl`` waits for the code, what every local user sees of it
in ``ps`` (``/proc/PID/cmdline``) holds no code."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from testkit.api import parcel, states, store_parcel
from testkit.daemon import Daemon

TAKE = "Door {cid} is open: take your parcel and close the door."


def lockerctl(daemon: Daemon, *args: str, **streams: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, LOCKER_SOCKET=str(daemon.socket))
    return subprocess.Popen([sys.executable, "-m", "kiosk.lockerctl", *args], env=env, **streams)


def command_line(pid: int) -> str:
    """What ``ps`` shows every user of this machine of lockerctl's arguments (once the
    child has become lockerctl: before its exec it shows nothing, or the test runner)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        shown = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        if "kiosk.lockerctl" in shown:
            return shown
        time.sleep(0.01)
    raise AssertionError("lockerctl did not start within 30 s")


def read_until(fd: int, wanted: bytes, timeout: float = 30.0) -> bytes:
    """What the terminal shows, until ``wanted`` has been shown or the other end closed."""
    shown = b""
    deadline = time.monotonic() + timeout
    while wanted not in shown and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the last process holding the terminal has gone
            break
        if not chunk:
            break
        shown += chunk
    return shown


def test_lockerctl_pickup_reads_the_code_from_stdin_and_ps_never_shows_it(
    daemon: Daemon,
) -> None:
    cid, code = store_parcel(daemon, "PKG-STDIN", size="S")
    proc = lockerctl(daemon, "pickup", stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)  # fmt: skip

    seen_in_ps = command_line(proc.pid)  # lockerctl is waiting for its stdin now
    out, err = proc.communicate(f"{code}\n".encode(), timeout=60)

    assert code not in seen_in_ps and seen_in_ps.endswith("kiosk.lockerctl pickup ")
    assert proc.returncode == 0, err
    assert out.decode().splitlines() == [TAKE.format(cid=cid), "Thank you!"]
    assert code not in (out + err).decode()
    assert parcel(daemon, "PKG-STDIN")["state"] == "PICKED_UP"
    assert states(daemon)[cid] == "AVAILABLE"


def test_lockerctl_pickup_asks_at_the_terminal_and_never_shows_the_code(daemon: Daemon) -> None:
    cid, code = store_parcel(daemon, "PKG-PROMPT", size="M")
    terminal, their_end = pty.openpty()
    # A session of its own: the pseudo-terminal is all it has, not the one running the tests.
    proc = lockerctl(daemon, "pickup", stdin=their_end, stdout=their_end, stderr=their_end,
                     start_new_session=True)  # fmt: skip
    os.close(their_end)
    try:
        shown = read_until(terminal, b"Pickup code: ")
        assert shown.endswith(b"Pickup code: "), shown
        seen_in_ps = command_line(proc.pid)
        os.write(terminal, f"{code}\n".encode())
        shown += read_until(terminal, b"Thank you!")
        assert proc.wait(60) == 0, shown
    finally:
        os.close(terminal)
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)

    text = shown.decode(errors="replace")
    assert code not in text  # the prompt did not echo what was typed
    assert code not in seen_in_ps
    assert TAKE.format(cid=cid) in text and "Thank you!" in text
    assert parcel(daemon, "PKG-PROMPT")["state"] == "PICKED_UP"


def test_lockerctl_pickup_with_nothing_on_stdin_opens_nothing(daemon: Daemon) -> None:
    cid, _ = store_parcel(daemon, "PKG-EMPTY", size="L")

    result = daemon.ctl("pickup")

    assert result.returncode == 2
    assert result.stderr == (
        "lockerctl: no pickup code given: type it at the prompt, or pipe it in "
        "(lockerctl pickup < code.txt)\n"
    )
    assert parcel(daemon, "PKG-EMPTY")["state"] == "STORED"
    assert daemon.sim().fire_counts()[cid] == 1  # the deposit's pulse, no other
