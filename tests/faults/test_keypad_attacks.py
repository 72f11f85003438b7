"""The keypads under attack, on a real daemon: a burst of concurrent sign-ins, the wall
clock stepping under a lockout, and a flood of codes that must not fill the disk."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from kiosk.protocol.client import ApiError
from testkit.daemon import COURIER, TECHNICIAN, Daemon, running_daemon

FAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")
WRONG_PIN = "00093127"


async def post_all(socket: Path, path: str, bodies: list[dict[str, Any]]) -> list[int]:
    """Every request on a connection of its own, all at once; the status of each."""
    limits = httpx.Limits(max_connections=len(bodies), max_keepalive_connections=0)
    transport = httpx.AsyncHTTPTransport(uds=str(socket), limits=limits)
    async with httpx.AsyncClient(transport=transport, base_url="http://kiosk",
                                 timeout=120) as client:  # fmt: skip
        answers = await asyncio.gather(*(client.post(path, json=b) for b in bodies))
    return [a.status_code for a in answers]


@pytest.fixture
def roomy_daemon() -> Iterator[Daemon]:
    """A daemon whose API socket takes 1,024 connections, so that all of a burst of 1,000
    reaches the sign-in and none is turned away as "busy" at the door."""
    with running_daemon(sections={"api": {"max_connections": 1024}}) as d:
        yield d


def test_a_burst_of_1000_concurrent_wrong_sign_ins_gets_five_checked_and_the_rest_refused(
    roomy_daemon: Daemon,
) -> None:
    # Journey: someone fires 1,000 sign-ins for the technician at once, hoping the slow
    # PIN check lets them all past the lockout.
    daemon = roomy_daemon
    burst = [{"user": TECHNICIAN[0], "pin": WRONG_PIN}] * 1000
    answers = Counter(asyncio.run(post_all(daemon.socket, "/v1/sessions", burst)))

    assert answers == {401: 5, 429: 995}
    assert len(daemon.events("sign_in_failed")) == 5  # only five PINs were ever checked
    (locked,) = daemon.events("keypad_locked")
    assert locked["detail"] == {"input": "pin", "seconds": 30.0}
    (alarm,) = daemon.events("brute_force_suspected")
    assert (alarm["severity"], alarm["detail"]) == ("alarm", {"input": "pin"})
    status = daemon.client().get("/v1/status")["sign_in"]
    assert status["refused"] == 995 and 0 < status["retry_after"] <= 30
    with pytest.raises(ApiError) as right_pin:  # even the right PIN waits
        daemon.client().sign_in(TECHNICIAN[1], user=TECHNICIAN[0])
    assert right_pin.value.status == 429

    assert daemon.stop() == 0  # the count of refusals goes into the log on the way out
    daemon.start()
    (refused,) = daemon.events("sign_in_refused_locked")
    assert refused["detail"] == {"count": 996, "in_row": 5, "users": [TECHNICIAN[0]]}
    assert WRONG_PIN not in daemon.log() and TECHNICIAN[1] not in daemon.log()
    assert daemon.ctl("events", "--verify").returncode == 0


@pytest.mark.skipif(not FAKETIME.exists(), reason="libfaketime is not installed (faketime)")
def test_a_wall_clock_step_neither_ends_nor_stretches_a_sign_in_lockout(tmp_path: Path) -> None:
    # Journey: a Pi without a battery clock sets its clock four days ahead, then a day
    # back, while the sign-in keypad is locked. The lockout runs on as if nothing happened.
    offset = tmp_path / "faketime"
    offset.write_text("+0\n")
    with faked_wall_clock(offset) as daemon:
        courier = daemon.client()
        for _ in range(5):
            assert refusal(lambda: courier.sign_in(WRONG_PIN, user=COURIER[0])) == 401
        assert refusal(lambda: courier.sign_in(COURIER[1], user=COURIER[0])) == 429

        offset.write_text("+4d\n")
        assert refusal(lambda: courier.post("/v1/pickup", {"code": "31415926"})) == 401
        stepped = daemon.client().get("/v1/status")["clock"]["wall_time"]
        assert stepped > time.time() + 4 * 86400 - 60  # the daemon's wall clock did step
        assert 0 < retry_after(daemon) <= 4  # not ended by the step forward

        offset.write_text("-1d\n")
        assert 0 < retry_after(daemon) <= 4  # not stretched by a day by the step back
        daemon.wait_for(lambda: retry_after(daemon) == 0, timeout=10, what="the lockout's end")
        assert courier.sign_in(COURIER[1], user=COURIER[0])["user"] == COURIER[0]


@pytest.mark.slow
def test_a_flood_of_100000_refused_codes_grows_the_store_by_under_a_megabyte(
    daemon: Daemon,
) -> None:
    # Journey: one local client sends 100,000 codes through the API as fast as it can.
    before = store_bytes(daemon)
    started = time.monotonic()
    answers: Counter[int] = Counter()
    for _ in range(20):
        answers.update(asyncio.run(post_many(daemon.socket, 5000)))
    seconds = time.monotonic() - started
    running = store_bytes(daemon) - before  # the database, its WAL and the WAL's index
    assert daemon.stop() == 0
    stopped = store_bytes(daemon) - before  # the WAL checkpointed into the database
    print(f"\n100,000 codes in {seconds:.0f} s ({answers[429]:,} refused): the store grew "
          f"{running:,} bytes while running, {stopped:,} once stopped "
          "(goal: at most 1,000,000)")  # fmt: skip

    assert running <= 1_000_000 and stopped <= 1_000_000
    assert answers[401] + answers[429] == 100_000
    daemon.start()
    counted = sum(e["detail"]["count"] for e in daemon.events("code_refused_locked"))
    assert counted == answers[429]  # every refusal is in the hash-chained log, as a count
    assert len(daemon.events("wrong_code")) == answers[401]
    assert daemon.events("brute_force_suspected")


async def post_many(socket: Path, n: int, connections: int = 8) -> list[int]:
    """``n`` wrong codes over a few kept-alive connections."""
    transport = httpx.AsyncHTTPTransport(uds=str(socket))
    async with httpx.AsyncClient(transport=transport, base_url="http://kiosk",
                                 timeout=60) as client:  # fmt: skip

        async def worker(count: int) -> list[int]:
            return [(await client.post("/v1/pickup", json={"code": "31415926"})).status_code
                    for _ in range(count)]  # fmt: skip

        parts = await asyncio.gather(*(worker(n // connections) for _ in range(connections)))
    return [status for part in parts for status in part]


@contextmanager
def faked_wall_clock(offset: Path) -> Iterator[Daemon]:
    """A daemon whose wall clock is moved by what ``offset`` says (libfaketime); its
    monotonic clock is the machine's. Lockouts of 4 s."""
    root = Path(tempfile.mkdtemp(prefix="lk-", dir="/tmp"))
    daemon = Daemon(root, sections={"security": {"lockout_initial_s": 4}})
    daemon.env = {"LD_PRELOAD": str(FAKETIME), "FAKETIME_TIMESTAMP_FILE": str(offset),
                  "FAKETIME_NO_CACHE": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}  # fmt: skip
    try:
        yield daemon.start()
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)


def refusal(call: Any) -> int:
    try:
        call()
    except ApiError as exc:
        return exc.status
    raise AssertionError("not refused")


def retry_after(daemon: Daemon) -> float:
    return float(daemon.client().get("/v1/status")["sign_in"]["retry_after"])


def store_bytes(daemon: Daemon) -> int:
    return sum(os.path.getsize(p) for p in daemon.data_dir.glob("kiosk.db*"))
