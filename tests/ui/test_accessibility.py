"""Text that can be read, keys that can be hit, at every display size and in large text.

Every text colour has a contrast of at least 4.5:1 with what it is drawn on, the
keyboard's focus ring 3:1 with what it is drawn next to. On every
screen of every journey (testkit/tour.py), in English and in German, at 800×480,
1024×600, 1280×800 and 480×800, with and without large text: each button is at least
9 mm on the configured display, lies inside the window and overlaps no other, and all
text fits where it is drawn. The key sound never gets in the way.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from itertools import combinations
from typing import Any

import pygame
import pytest

from kiosk.ui import theme
from kiosk.ui.app import App
from kiosk.ui.screens.eventlog import SEVERITY_COLORS
from kiosk.ui.widgets import STYLES
from testkit.daemon import TECHNICIAN, Daemon, running_daemon
from testkit.tour import every_screen
from testkit.ui import UiDriver

SIZES = [(800, 480), (1024, 600), (1280, 800), (480, 800)]


# -- contrast ---------------------------------------------------------------------------


@pytest.mark.parametrize("ink, paper", theme.TEXT_PAIRS)
def test_text_has_a_contrast_of_at_least_4_5_to_1(ink: theme.Color, paper: theme.Color) -> None:
    assert theme.contrast(ink, paper) >= 4.5


def test_every_colour_text_is_drawn_in_is_one_of_the_checked_pairs() -> None:
    drawn = [*STYLES.values(), *SEVERITY_COLORS.values(), *theme.STATE_COLORS.values()]
    checked = {frozenset(pair) for pair in theme.TEXT_PAIRS}
    assert [pair for pair in drawn if frozenset(pair) not in checked] == []


@pytest.mark.parametrize("background", theme.FOCUS_BACKGROUNDS)
def test_the_keyboard_focus_ring_stands_out_from_what_it_is_next_to(
    background: theme.Color,
) -> None:
    """WCAG's 3:1 for non-text: the ring's dark or white line against the paper around
    the button or the button's own colour, and the two lines against each other."""
    assert theme.contrast(theme.FOCUS_RING, theme.FOCUS_HALO) >= 3.0
    ring, halo = (
        theme.contrast(theme.FOCUS_RING, background),
        theme.contrast(theme.FOCUS_HALO, background),
    )
    assert max(ring, halo) >= 3.0


def test_every_colour_a_focused_button_has_is_a_checked_focus_background() -> None:
    drawn = {background for background, _text in STYLES.values()}
    drawn |= {fill for fill, _text in theme.STATE_COLORS.values()} | {theme.PAPER}
    assert drawn <= set(theme.FOCUS_BACKGROUNDS)


def test_contrast_is_measured_as_wcag_does() -> None:
    assert theme.contrast((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert theme.contrast((118, 118, 118), (255, 255, 255)) == pytest.approx(4.54, abs=0.01)


# -- layouts ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kiosk() -> Iterator[tuple[Daemon, list[dict[str, Any]]]]:
    with running_daemon() as daemon:
        compartments = daemon.signed_in(TECHNICIAN).get("/v1/compartments")["compartments"]
        yield daemon, compartments


def connected(daemon: Daemon, size: tuple[int, int] = (800, 480), lang: str = "en") -> UiDriver:
    ui = UiDriver(str(daemon.touchscreen_socket), size, lang=lang)
    ui.wait_until(lambda: ui.app.online and ui.app.kiosk is not None, what="the UI to connect")
    return ui


def problems(app: App) -> list[str]:
    """What is wrong with the frame on show: small, stray or overlapping keys, text
    that does not fit."""
    m, window = app.metrics, app.surface.get_rect()
    found = []
    keys = [b for b in app.buttons if b.on_tap is not None]
    for b in keys:
        name = b.name or b.label
        if b.enabled and min(b.rect.size) < m.min_target:
            found.append(f"{name} is {b.rect.w}×{b.rect.h} px, under {m.min_target} px (9 mm)")
        if not window.contains(b.rect):
            found.append(f"{name} is not inside the window: {b.rect}")
    for a, b in combinations(keys, 2):
        if a.rect.colliderect(b.rect):
            found.append(f"{a.name or a.label} overlaps {b.name or b.label}")
    found += [f"text does not fit: {o}" for o in app.overflows]
    return found


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large-text"])
@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_screen_fits_the_display(
    kiosk: tuple[Daemon, list[dict[str, Any]]], size: tuple[int, int], large: bool
) -> None:
    daemon, compartments = kiosk
    failures = []
    for lang in ("en", "de"):
        ui = connected(daemon, size, lang)
        try:
            ui.app.set_large_text(large)
            screens = 0
            for screen in every_screen(ui.app, compartments):
                screens += 1
                failures += [f"{lang} {screen}: {p}" for p in problems(ui.app)]
            assert screens > 30
        finally:
            ui.close()
    assert not failures, "\n".join(failures)


def test_large_text_on_the_home_screen_makes_all_text_bigger(
    kiosk: tuple[Daemon, list[dict[str, Any]]],
) -> None:
    daemon, _compartments = kiosk
    ui = connected(daemon)
    try:
        normal = ui.app.metrics.unit
        assert ui.button("large-text").style == "key"
        ui.tap("large-text")
        assert ui.app.metrics.large_text and ui.app.metrics.unit > normal
        assert ui.button("large-text").style == "ok"  # shown as on
        ui.tap("pickup")
        ui.wait_for_text("Type your pickup code")
        assert ui.app.metrics.large_text, "large text stays on through the journey"
        ui.tap("back")
        ui.tap("large-text")
        assert ui.app.metrics.unit == normal
    finally:
        ui.close()


def test_the_next_person_starts_with_the_kiosks_text_size(
    kiosk: tuple[Daemon, list[dict[str, Any]]],
) -> None:
    daemon, _compartments = kiosk
    ui = connected(daemon)
    try:
        ui.tap("large-text")
        ui.tap("pickup")
        ui.wait_for_text("Type your pickup code")
        ui.advance(61)  # nobody there: "Need more time?", then home
        ui.wait_for_text("Need more time?")
        ui.advance(31)
        ui.wait_for_text("Pick up a parcel")
        assert not ui.app.metrics.large_text
        assert ui.button("large-text").style == "key"  # shown as off
    finally:
        ui.close()


# -- sound ------------------------------------------------------------------------------

PLAY = (
    "from kiosk.ui.sound import Sound\n"
    "sound = Sound(True)\n"
    "for _ in range(3):\n"
    "    sound.click()\n"
    "    sound.error()\n"
    "print(sound.enabled)\n"
)


@pytest.mark.parametrize(
    "driver, plays", [("dummy", "True"), ("no-such-device", "False")], ids=["dummy", "none"]
)
def test_the_key_sound_plays_where_it_can_and_is_silent_where_it_cannot(
    driver: str, plays: str
) -> None:
    env = dict(os.environ, SDL_AUDIODRIVER=driver, PYGAME_HIDE_SUPPORT_PROMPT="1")
    out = subprocess.run(
        [sys.executable, "-c", PLAY], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == plays


def test_a_pygame_without_its_mixer_is_silent_too(monkeypatch: pytest.MonkeyPatch) -> None:
    from kiosk.ui.sound import Sound

    def missing(*args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("mixer module not available")  # pygame's MissingModule

    # pygame's MissingModule: every function of the mixer raises, get_init too (so it
    # does not matter whether an earlier test in this process opened a mixer)
    monkeypatch.setattr(pygame.mixer, "get_init", missing)
    monkeypatch.setattr(pygame.mixer, "init", missing)
    sound = Sound(True)
    sound.click()
    sound.error()
    assert not sound.enabled


def test_keys_click_when_the_kiosk_wants_it(kiosk: tuple[Daemon, list[dict[str, Any]]]) -> None:
    daemon, _compartments = kiosk
    ui = connected(daemon)
    try:
        played: list[str] = []
        ui.app.sound.enabled = True
        ui.app.sound.click = lambda: played.append("click")  # type: ignore[method-assign]
        ui.app.sound.error = lambda: played.append("error")  # type: ignore[method-assign]
        ui.tap("pickup")
        ui.tap("key-1")
        ui.scan("not a code")
        assert played == ["click", "click", "error"]
    finally:
        ui.close()
