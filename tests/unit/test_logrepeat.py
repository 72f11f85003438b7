"""Warnings and errors that repeat are written once, with a count (kiosk/daemon/logrepeat.py):
a flood of the same failure costs two lines a minute, not a traceback each."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterator

import pytest

from kiosk.daemon.logrepeat import MAX_KEYS, RepeatCollapser


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def written() -> Iterator[tuple[logging.Logger, io.StringIO, Clock, RepeatCollapser]]:
    out, clock = io.StringIO(), Clock()
    target = logging.StreamHandler(out)
    handler = RepeatCollapser(target, window_s=60.0, clock=clock)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("test.logrepeat")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield logger, out, clock, handler
    finally:
        logger.removeHandler(handler)
        handler.close()


def accept_fails(logger: logging.Logger) -> None:
    try:
        raise OSError(24, "Too many open files")
    except OSError:
        logger.exception("socket.accept() out of system resource")


def test_a_thousand_identical_errors_are_one_traceback_and_a_count(
    written: tuple[logging.Logger, io.StringIO, Clock, RepeatCollapser],
) -> None:
    logger, out, clock, handler = written
    for _ in range(1000):
        accept_fails(logger)
        clock.now += 0.01
    handler.flush()
    text = out.getvalue()
    assert text.count("Traceback") == 1
    assert text.count("socket.accept() out of system resource") == 2
    assert "ERROR test.logrepeat: repeated 999 more times in 10 s: socket.accept() out of " \
        "system resource" in text  # fmt: skip
    assert len(text) < 1000


def test_after_the_window_the_count_is_told_and_the_next_one_is_written_again(
    written: tuple[logging.Logger, io.StringIO, Clock, RepeatCollapser],
) -> None:
    logger, out, clock, _ = written
    for _ in range(3):
        logger.warning("API socket: refused a connection: all 64 connections are in use")
    clock.now += 61
    logger.warning("API socket: refused a connection: all 64 connections are in use")
    lines = out.getvalue().splitlines()
    assert lines == [
        "WARNING test.logrepeat: API socket: refused a connection: all 64 connections are in use",
        "WARNING test.logrepeat: repeated 2 more times in 60 s: API socket: refused a "
        "connection: all 64 connections are in use",
        "WARNING test.logrepeat: API socket: refused a connection: all 64 connections are in use",
    ]


def test_different_messages_and_information_lines_are_all_written(
    written: tuple[logging.Logger, io.StringIO, Clock, RepeatCollapser],
) -> None:
    logger, out, _, handler = written
    for peer in ("10.0.0.7", "10.0.0.8"):
        logger.warning("API over TCP: a wrong token from %s refused", peer)
    for _ in range(3):
        logger.info("door_closed compartment=A01")
    handler.flush()
    lines = out.getvalue().splitlines()
    assert lines == [
        "WARNING test.logrepeat: API over TCP: a wrong token from 10.0.0.7 refused",
        "WARNING test.logrepeat: API over TCP: a wrong token from 10.0.0.8 refused",
        *["INFO test.logrepeat: door_closed compartment=A01"] * 3,
    ]


def test_a_flood_of_many_messages_keeps_only_so_many_open_and_tells_the_oldest_count(
    written: tuple[logging.Logger, io.StringIO, Clock, RepeatCollapser],
) -> None:
    logger, out, _, _ = written
    logger.error("first")
    logger.error("first")
    for n in range(MAX_KEYS):
        logger.error("other %d", n)
    assert "repeated once more in 1 s: first" in out.getvalue()


def test_a_flood_that_stops_has_its_count_told_without_another_line_logged() -> None:
    out = io.StringIO()
    handler = RepeatCollapser(logging.StreamHandler(out), window_s=0.2)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("test.logrepeat.timer")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        for _ in range(5):
            logger.warning("board top is offline")
        for _ in range(200):  # the timer's thread writes the count once the window ends
            if "repeated" in out.getvalue():
                break
            time.sleep(0.05)
        assert out.getvalue().splitlines() == [
            "board top is offline",
            "repeated 4 more times in 1 s: board top is offline",
        ]
    finally:
        logger.removeHandler(handler)
        handler.close()
