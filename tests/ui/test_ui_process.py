"""The touchscreen as a process of its own: it never imports the core, survives the
daemon's restart, never waits on the API while drawing, and times out idle people."""

from __future__ import annotations

import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pygame

from kiosk.ui.app import App
from kiosk.ui.wedge import HOLD_S, WedgeDetector
from testkit.daemon import Daemon
from testkit.ui import UiDriver


def test_the_ui_imports_nothing_of_the_daemon_but_its_protocol() -> None:
    # The rule is the import contract "ui-a-client" (pyproject.toml), which ./run-tests
    # checks with the others; here it runs alone, so a UI test run says it too.
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run(
        [str(lint), "--contract", "ui-a-client", "--no-cache", "--no-logo"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout
    assert "the touchscreen imports only kiosk.protocol from the daemon's side KEPT" in " ".join(
        out.stdout.split()
    )


def test_the_ui_shows_out_of_service_while_the_daemon_restarts(
    daemon: Daemon, ui: UiDriver
) -> None:
    assert ui.button("pickup").enabled
    daemon.stop()
    ui.wait_for_text("Out of service: the kiosk is starting or restarting. Please wait.")
    assert not ui.button("pickup").enabled
    daemon.start()
    ui.wait_until(lambda: ui.button("pickup").enabled, timeout=15, what="the UI to reconnect")
    assert ui.shows("Test kiosk")


def test_drawing_never_waits_for_the_daemon(daemon: Daemon, ui: UiDriver) -> None:
    ui.tap("Pick up a parcel")
    daemon.proc.send_signal(19)  # SIGSTOP: the daemon hangs, its socket stays open
    try:
        ui.type("1234")
        started = time.monotonic()
        ui.type("5678")
        ui.tap("OK")  # the request hangs in the link's worker thread
        for _ in range(20):
            ui.key(pygame.K_BACKSPACE)
            ui.pump(0.01)
        assert time.monotonic() - started < 3.0
        assert ui.shows("Checking your code…")
    finally:
        daemon.proc.send_signal(18)  # SIGCONT


def test_an_idle_screen_asks_for_more_time_then_goes_home(daemon: Daemon, ui: UiDriver) -> None:
    ui.tap("Pick up a parcel")
    ui.type("123")
    ui.advance(61)
    ui.wait_for_text("Need more time?")
    ui.tap("more-time")
    assert ui.shows("Type your pickup code")
    ui.advance(61)
    ui.wait_for_text("Need more time?")
    ui.advance(31)
    ui.wait_for_text("Pick up a parcel")


def test_a_burst_of_keys_ending_in_enter_is_a_scan_and_slow_typing_is_typing() -> None:
    now = [0.0]
    wedge = WedgeDetector(lambda: now[0])
    out = []
    for ch in "1Z999AA1":
        out += wedge.feed(ord(ch), ch)
        now[0] += 0.003
    out += wedge.feed(pygame.K_RETURN, "\r")
    assert out == [("scan", "1Z999AA1")]
    typed = []
    for ch in "42":
        typed += wedge.feed(ord(ch), ch)
        now[0] += HOLD_S + 0.1
        typed += wedge.flush_due()
    typed += wedge.feed(pygame.K_RETURN, "\r")
    assert typed == [("text", "4"), ("text", "2"), ("enter", "")]


def test_a_typed_key_is_drawn_without_waiting_for_another_event(
    daemon: Daemon, ui: UiDriver
) -> None:
    ui.tap("Pick up a parcel")
    ui.pump(0.2)
    drawn: list[list[str]] = []
    draw = ui.app.draw

    def spy() -> None:
        draw()
        drawn.append(list(ui.app.texts))

    ui.app.draw = spy  # type: ignore[method-assign]
    ui.key(ord("7"), "7")  # held back by the wedge detector, then shown as typing
    started = time.monotonic()
    while time.monotonic() - started < 0.5:
        ui.app.step(max_wait_s=0.1)  # the loop's own drawing; UiDriver.texts() would draw
    assert any("7___ ____" in text for texts in drawn for text in texts)  # grouped


def is_connected(app: App) -> bool:
    return app.online and app.kiosk is not None


def test_a_stopped_touchscreen_gives_its_place_on_its_socket_back_at_once(daemon: Daemon) -> None:
    for _ in range(12):  # more touchscreens, one after the other, than the socket's 8 places
        ui = UiDriver(str(daemon.touchscreen_socket))
        try:
            ui.wait_until(partial(is_connected, ui.app), what="connected")
        finally:
            ui.close()
    with daemon.client() as lockerctl:
        daemon.wait_for(
            lambda: lockerctl.get("/v1/status")["connections"]["touchscreen"]["connections"] == 0,
            what="the last touchscreen's stream to end",
        )
