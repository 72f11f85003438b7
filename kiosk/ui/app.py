"""The touchscreen application: one pygame loop that never waits on the daemon.

The loop sleeps until something happens: a tap, a key, a message from the daemon link
(posted from its threads as a pygame event, and waking the loop at once), or the next
deadline of a countdown. It sleeps in a wait of its own, looking at SDL's queue every
5 ms while a person is at the screen and every 25 ms once nothing happened for a few
seconds: ``SDL_WaitEvent`` itself polls every millisecond on the video drivers a kiosk
runs (KMSDRM, and the dummy driver offscreen), several per cent of a core for nothing.
Then it handles everything that is queued and redraws. API calls go to
:class:`~kiosk.ui.link.DaemonLink`'s worker; their results come back as messages and run
the callback the screen registered.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import pygame

from kiosk.protocol.events import JobKind
from kiosk.protocol.stream import StreamKind
from kiosk.protocol.views import KioskInfo, OperationView, SessionView, Status
from kiosk.ui import i18n, theme
from kiosk.ui.guidance import Guidance
from kiosk.ui.i18n import _
from kiosk.ui.link import TIMEOUT_S, DaemonLink, Message
from kiosk.ui.screen import Callback, Screen
from kiosk.ui.screens.courier import CourierMenuScreen
from kiosk.ui.screens.deposit import ParcelScreen
from kiosk.ui.screens.dialogs import MoreTimeDialog
from kiosk.ui.screens.door import DoorScreen
from kiosk.ui.screens.eventlog import EventLogScreen
from kiosk.ui.screens.home import HomeScreen
from kiosk.ui.screens.returns import ReturnsScreen
from kiosk.ui.screens.selftest import JobScreen
from kiosk.ui.screens.signin import SignInScreen
from kiosk.ui.screens.technician import TechnicianScreen
from kiosk.ui.sound import Sound
from kiosk.ui.speech import SilentSpeaker, Speech, build_speaker
from kiosk.ui.wedge import WedgeDetector
from kiosk.ui.widgets import (
    MOVES,
    Button,
    Painter,
    Rect,
    cols,
    focus_key,
    focusable,
    move_focus,
    rows,
)

log = logging.getLogger(__name__)

LINK_EVENT = pygame.USEREVENT + 1
ACTIVE_POLL_S, IDLE_POLL_S, ACTIVE_S = 0.005, 0.025, 3.0
"""SDL's queue is looked at every ACTIVE_POLL_S until ACTIVE_S after the last event,
then every IDLE_POLL_S (the longest a first tap after a quiet spell waits)."""
STATUS_TYPES = (StreamKind.BOARD, StreamKind.STORAGE)
STATUS_KINDS = ("mass_open", "clock_", "disk_", "keypad_locked")
"""Stream messages (by type) and events (by kind prefix) after which the status is
read again: what they change is shown from it (out of service, the technician's lines)."""


class App:
    def __init__(
        self,
        socket: str,
        size: tuple[int, int] = (800, 480),
        fullscreen: bool = False,
        lang: str | None = None,
        large_text: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        start_link: bool = True,
        speaker: Speech | None = None,
    ) -> None:
        pygame.display.init()
        pygame.font.init()
        flags = pygame.FULLSCREEN if fullscreen else 0
        self.surface = pygame.display.set_mode(size, flags)
        pygame.display.set_caption("locker-kiosk")
        pygame.key.set_repeat(0)
        self.clock = clock
        self.size = self.surface.get_size()
        self.kiosk: KioskInfo | None = None
        self.status: Status | None = None
        self.online = False
        self.session: SessionView | None = None
        self.open_doors: set[str] = set()
        self.keypad_locked_until: float | None = None
        """Until when (this app's clock) the pickup keypad takes no code: the lockout is
        the whole kiosk's, so it is read from the status and the daemon's answers."""
        """The doors the sensors see open: from the status, then from the stream."""
        self.fixed_lang = lang
        self.fixed_large_text = large_text
        self.large_text_override = large_text
        i18n.set_language(lang or "en")
        self._wake = threading.Event()  # set by the link's threads with a message
        self._active_at = time.monotonic()
        self.link = DaemonLink(socket, self._post)
        self.pending: dict[int, Callback | None] = {}
        self.buttons: list[Button] = []
        self.focus: str | None = None
        """The button the keyboard works on (:func:`~kiosk.ui.widgets.focus_key`), if any."""
        self.texts: list[str] = []
        self.overflows: list[str] = []
        self.dirty = True
        self.running = True
        self.last_input = clock()
        self.sound = Sound(False)
        self.speaker: Speech = speaker or SilentSpeaker()
        """Spoken guidance (kiosk/ui/speech): the one given, else the one the kiosk's
        ``ui.speech`` settings ask for, made when they arrive from the daemon."""
        self._speaker_given = speaker is not None
        self._speech_settings: tuple[object, object] | None = None
        self.guidance = Guidance(lambda: self.speaker)
        self.wedge = WedgeDetector(clock)
        self.screen: Screen = HomeScreen(self)
        self.dialog: Screen | None = None
        if start_link:
            self.link.start()

    # -- settings from the daemon ---------------------------------------------------

    @property
    def ui(self) -> dict[str, Any]:
        return self.kiosk.get("ui", {}) if self.kiosk else {}

    def in_language(self, key: str) -> str:
        """A kiosk setting that may be given per language (``name``,
        ``operator_contact``), in the language on screen."""
        kiosk: Mapping[str, Any] = self.kiosk or {}  # read by a key given as text
        by_language = kiosk.get(f"{key}_by_language") or {}
        return str(by_language.get(i18n.language(), kiosk.get(key, "")))

    @property
    def contact(self) -> str:
        """The operator's help line, in the language on screen ("" if none is set)."""
        return self.in_language("operator_contact")

    @property
    def metrics(self) -> theme.Metrics:
        large = (
            self.ui.get("large_text", False)
            if self.large_text_override is None
            else (self.large_text_override)
        )
        return theme.Metrics(self.size[0], self.size[1], self.ui.get("display_dpi", 133.0), large)

    def set_large_text(self, on: bool) -> None:
        self.large_text_override = on
        self.dirty = True

    # -- the daemon -----------------------------------------------------------------

    def _post(self, message: Message) -> None:
        """From the link's threads: wake the loop with a message."""
        # pygame.error: the display is gone, the app is shutting down
        with contextlib.suppress(pygame.error):
            pygame.event.post(pygame.event.Event(LINK_EVENT, msg=message))
        self._wake.set()

    def _wait_event(self, wait_s: float | None) -> pygame.event.Event:
        """The next event, or NOEVENT after ``wait_s`` (None: no limit)."""
        now = time.monotonic()
        deadline = None if wait_s is None else now + wait_s
        while True:
            self._wake.clear()
            event = pygame.event.poll()
            if event.type != pygame.NOEVENT:
                self._active_at = now
                return event
            now = time.monotonic()
            left = None if deadline is None else deadline - now
            if left is not None and left <= 0:
                return event
            quiet = now - self._active_at > ACTIVE_S
            step = IDLE_POLL_S if quiet else ACTIVE_POLL_S
            self._wake.wait(step if left is None else min(step, left))

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        on_done: Callback | None = None,
        params: dict[str, Any] | None = None,
        doors: int = 0,
    ) -> int:
        """``doors``: how many doors the call may fire and wait for (a deposit whose first
        door jams opens another): it waits for its answer as long as they can take."""
        token = self.session["token"] if self.session else None
        timeout = self.door_call_timeout_s(doors) if doors else None
        call_id = self.link.call(method, path, body, token, params, timeout)
        self.pending[call_id] = on_done
        return call_id

    def door_call_timeout_s(self, doors: int = 1) -> float:
        """How long a call that opens ``doors`` doors waits for its answer: the daemon's
        longest answer for each (``door_answer_s``, from its timings), and the link's
        usual wait on top for the rest (a queue of pulses, the database)."""
        per_door = float((self.kiosk.get("door_answer_s") if self.kiosk else None) or TIMEOUT_S)
        return TIMEOUT_S + doors * per_door

    def _on_link(self, msg: Message) -> None:
        kind = msg.get("kind")
        if kind == "result":
            callback = self.pending.pop(msg["id"], None)
            if callback is not None:
                callback(msg)
        elif kind == "kiosk":
            self.kiosk = msg["data"]
            self.sound.enabled = bool(self.ui.get("key_sound", False))
            self._configure_speech()
            self.guidance.set_default(bool(self.ui.get("speech_on", False)))
            if self.fixed_lang is None and i18n.language() not in self.kiosk["languages"]:
                i18n.set_language(self.kiosk["languages"][0])
            self.refresh_status()
        elif kind == "link":
            self.online = bool(msg["online"])
            if not self.online:
                self.status = None
        elif kind == "stream":
            data = msg["data"]
            if data.get("type") == StreamKind.DOOR:
                self._door_seen(str(data.get("compartment")), str(data.get("door")))
            if data.get("type") in STATUS_TYPES or str(data.get("kind", "")).startswith(
                STATUS_KINDS
            ):
                self.refresh_status()
            if data.get("type") == StreamKind.SCAN:
                self.scan(str(data.get("text", "")))
                return
        for screen in (self.dialog, self.screen):
            if screen is not None:
                screen.on_message(msg)
        self.dirty = True

    def _configure_speech(self) -> None:
        """A speaker for the kiosk's speech settings, made again only when they change
        (a daemon restart sends the same ones again), never over one that was given."""
        wanted = (self.ui.get("speech"), self.ui.get("speech_rate"))
        if self._speaker_given or wanted == self._speech_settings:
            return
        self.speaker.close()
        self.speaker = build_speaker(self.ui)
        self._speech_settings = wanted

    def refresh_status(self) -> None:
        def done(result: Message) -> None:
            if result["ok"]:
                self.status = result["data"]
                compartments = self.status.get("compartments") or {}
                self.open_doors = set(compartments.get("open_doors") or [])
                wait = float((self.status.get("keypad") or {}).get("retry_after") or 0)
                self.keypad_locked_until = self.clock() + wait if wait > 0 else None

        self.call("GET", "/v1/status", on_done=done)

    def keypad_locked_for(self, seconds: float) -> None:
        """The daemon answered that the pickup keypad is locked for ``seconds``."""
        self.keypad_locked_until = self.clock() + seconds
        self.dirty = True

    @property
    def keypad_wait(self) -> float | None:
        """Seconds the pickup keypad is still locked, or None (it takes codes)."""
        until = self.keypad_locked_until
        if until is None or until <= self.clock():
            return None
        return until - self.clock()

    def _door_seen(self, compartment: str, state: str) -> None:
        if state == "OPEN":
            self.open_doors.add(compartment)
        else:  # closed, or no longer read: not named as open
            self.open_doors.discard(compartment)

    @property
    def storage_full(self) -> bool:
        """The daemon's disk is full: it can store nothing, so it opens no door."""
        storage = self.status.get("storage") if self.status else None
        return bool(storage and storage.get("state") == "full")

    @property
    def out_of_service(self) -> bool:
        """No board answers, the mass-open guard stopped door opens, or the disk is full."""
        status = self.status
        if status is None:
            return self.storage_full
        guard = status.get("mass_open_guard")
        if (guard and guard.get("tripped")) or self.storage_full:
            return True
        boards = status.get("boards", [])
        return bool(boards) and not any(b["online"] for b in boards)

    # -- navigation -----------------------------------------------------------------

    def goto(self, screen: Screen) -> None:
        self.screen = screen
        self.dialog = None
        self.focus = None
        self.last_input = self.clock()
        self.dirty = True
        self.guidance.entered()

    def show_dialog(self, dialog: Screen | None) -> None:
        self.dialog = dialog
        self.focus = None
        self.dirty = True
        self.guidance.entered()

    # -- where a screen sends a person (ScreenContext): the app builds the screen ------

    def to_sign_in(self, message: str = "") -> None:
        self.goto(SignInScreen(self, message))

    def to_courier_menu(self) -> None:
        self.goto(CourierMenuScreen(self))

    def to_parcel(self, scanned: str | None = None) -> None:
        self.goto(ParcelScreen(self, scanned))

    def to_returns(self) -> None:
        self.goto(ReturnsScreen(self))

    def to_door(self, view: OperationView, role: str) -> None:
        self.goto(DoorScreen(self, view, role=role))

    def to_technician(self) -> None:
        self.goto(TechnicianScreen(self))

    def to_job(
        self, kind: JobKind, start: bool = False, holding: int = 0, include_parcels: bool = False
    ) -> None:
        screen = JobScreen(self, kind, holding)
        screen.include_parcels = include_parcels
        self.goto(screen)
        if start:
            screen.start()

    def to_event_log(self) -> None:
        self.goto(EventLogScreen(self))

    def home(self, sign_out: bool = True, timed_out: bool = False) -> None:
        """Back to the home screen, signed out. After a sign-out or a journey that
        ``timed_out``, the next person starts afresh: in the kiosk's default language,
        with the text size the kiosk is set to."""
        if timed_out or (sign_out and self.session is not None):
            i18n.set_language(self.default_language)
            self.large_text_override = self.fixed_large_text
            self.guidance.reset()
        if sign_out:
            self.sign_out()
        self.goto(HomeScreen(self))

    @property
    def default_language(self) -> str:
        """The language given on the command line, else the kiosk's first."""
        languages = self.kiosk.get("languages") if self.kiosk else None
        return self.fixed_lang or (languages or ["en"])[0]

    def sign_out(self) -> None:
        if self.session is not None:
            self.call("DELETE", "/v1/sessions")
            self.session = None

    def set_language(self, code: str) -> None:
        i18n.set_language(code)
        self.dirty = True

    # -- input ----------------------------------------------------------------------

    def handle(self, event: pygame.event.Event) -> None:
        if event.type == pygame.QUIT:
            self.running = False
        elif event.type == LINK_EVENT:
            self._on_link(event.msg)
        elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            # A touch arrives as this too (SDL turns touches into mouse events), so
            # FINGERDOWN is not handled as well: one touch is one tap.
            self.tap(event.pos)
        elif event.type == pygame.MOUSEMOTION and event.buttons[0]:
            # SDL turns a finger's drag into this too, so FINGERMOTION is not handled twice
            self.last_input = self.clock()
            (self.dialog or self.screen).on_drag(event.rel[1])
        elif event.type == pygame.KEYDOWN:
            self.last_input = self.clock()
            shift = bool(getattr(event, "mod", 0) & pygame.KMOD_SHIFT)
            for kind, text in self.wedge.feed(event.key, event.unicode, shift):
                self._deliver_key(kind, text)
        elif event.type == pygame.VIDEORESIZE:
            self.surface = pygame.display.set_mode((event.w, event.h), pygame.RESIZABLE)
            self.size = (event.w, event.h)
        self.dirty = True

    def _deliver_key(self, kind: str, text: str) -> None:
        """A key for the screen. Tab, Shift+Tab and the arrows move the focus; Enter and
        Space work the focused button. Typing (and Backspace) goes to the screen and
        ends the focus, so that Enter then sends what was typed."""
        if kind == "scan":
            self.scan(text)
            return
        target = self.dialog or self.screen
        focused = self._focused()
        if kind in ("tab", "back-tab", *MOVES):
            self.focus = move_focus(self.buttons, self.focus, kind)
            return
        if focused is not None and (kind == "enter" or (kind == "text" and text == " ")):
            self.tap(focused.rect.center, focused)
            return
        if kind == "enter":
            target.on_enter()
        elif kind == "escape":
            target.on_escape()
        elif kind == "backspace":
            self.focus = None
            target.on_backspace()
        else:
            self.focus = None
            target.on_text(text)
        self.guidance.typed(kind, text)
        self.sound.click()

    def _focused(self) -> Button | None:
        for button in focusable(self.buttons):
            if focus_key(button) == self.focus:
                return button
        return None

    def tap(self, pos: tuple[int, int], focused: Button | None = None) -> None:
        """A tap at ``pos``, or the keyboard working the ``focused`` button."""
        self.last_input = self.clock()
        if focused is None:
            self.focus = None  # a touch hides the keyboard's focus
        for button in [focused] if focused else reversed(self.buttons):
            if button.hit(pos):
                self.sound.click()
                assert button.on_tap is not None
                button.on_tap()
                self.guidance.key(button.name, button.label)
                self.dirty = True
                return

    def scan(self, text: str) -> None:
        """A barcode from a scanner: the screen on show decides what it means."""
        self.last_input = self.clock()
        target = self.dialog or self.screen
        if not target.on_scan(text):
            self.sound.error()
        self.dirty = True

    # -- the loop -------------------------------------------------------------------

    def _next_deadline(self) -> float | None:
        deadlines = [d for d in (self.screen.next_timer(), self.wedge.next_flush()) if d]
        if self.dialog is not None and self.dialog.next_timer():
            deadlines.append(self.dialog.next_timer())  # type: ignore[arg-type]
        if (self.screen.idle_timeout or self._speaking_to_nobody) and self.dialog is None:
            deadlines.append(self.last_input + float(self.ui.get("idle_timeout_s", 60.0)))
        return min(deadlines) if deadlines else None

    @property
    def _speaking_to_nobody(self) -> bool:
        """Home shows, with speech other than the kiosk's default: once home has been
        idle for the idle time, the person who chose it has gone."""
        return isinstance(self.screen, HomeScreen) and self.guidance.mode != self.guidance.default

    def step(self, max_wait_s: float | None = None) -> None:
        """Wait for something to happen (at most ``max_wait_s``), handle it, redraw."""
        deadline = self._next_deadline()
        wait = None if deadline is None else max(0.0, deadline - self.clock())
        if max_wait_s is not None:
            wait = max_wait_s if wait is None else min(wait, max_wait_s)
        event = self._wait_event(wait)
        if event.type != pygame.NOEVENT:
            self.handle(event)
        for event in pygame.event.get():
            self.handle(event)
        self._timers(deadline)
        if self.dirty:
            self.draw()

    def _timers(self, woke_for: float | None) -> None:
        """Run what is due; redraw only if something was (a countdown's next second too:
        ``woke_for`` is the deadline the loop slept until)."""
        now = self.clock()
        if woke_for is not None and woke_for <= now:
            self.dirty = True
        for kind, text in self.wedge.flush_due():
            self._deliver_key(kind, text)
            self.dirty = True  # typed keys held back by the wedge detector show now
        for screen in (self.screen, self.dialog):
            due = screen.next_timer() if screen is not None else None
            if screen is not None and due is not None and due <= now:
                screen.on_timer()
                self.dirty = True
        idle_s = float(self.ui.get("idle_timeout_s", 60.0))
        if self.screen.idle_timeout and self.dialog is None and now - self.last_input >= idle_s:
            self.show_dialog(MoreTimeDialog(self, float(self.ui.get("more_time_s", 30.0))))
        if self._speaking_to_nobody and self.dialog is None and now - self.last_input >= idle_s:
            self.guidance.reset()
            self.dirty = True

    def run(self) -> None:
        try:
            while self.running:
                self.step()
        finally:
            self.link.stop()
            self.speaker.close()
            pygame.quit()

    def draw(self) -> None:
        m = self.metrics
        painter = Painter(self.surface, m)
        self.surface.fill(theme.PAPER)
        area = Rect(0, 0, *self.size).inflate(-2 * m.gap, -2 * m.gap)
        header, body = rows(area, [1, 7], m.gap)
        self._header(painter, header)
        heading = len(painter.texts)
        buttons = self.screen.build(body, painter)
        said_from = heading  # a voice says the header, then the screen or the dialog over it
        if self.dialog is not None:
            shade = pygame.Surface(self.size, pygame.SRCALPHA)
            shade.fill((0, 0, 0, 150))
            self.surface.blit(shade, (0, 0))
            said_from = len(painter.texts)
            buttons = self.dialog.build(body.inflate(-4 * m.gap, -2 * m.gap), painter)
        drawn = painter.texts[:heading] + painter.texts[said_from:]  # not the buttons' labels
        said = [t for t in drawn if t not in painter.unspoken]
        for button in buttons:
            painter.button(button)
        self.buttons = buttons
        focused = self._focused()
        if focused is not None:
            painter.focus_ring(focused.rect)
        pygame.display.flip()
        self.texts = painter.texts
        self.overflows = painter.overflows
        self.dirty = False
        self._guide(said)

    def _guide(self, drawn: list[str]) -> None:
        """Spoken guidance after a frame: the screen's texts (the dialog's over it, if
        one shows) and what it adds for a voice."""
        extra: list[str] = []
        if self.guidance.is_on:
            extra = (self.dialog or self.screen).spoken()
        self.guidance.after_frame(drawn, extra)

    def _header(self, p: Painter, rect: Rect) -> None:
        name = self.in_language("name")
        if not self.online:
            p.fill(rect, theme.DANGER, p.metrics.gap)
            p.text(
                _("Out of service: the kiosk is starting or restarting. Please wait."),
                rect,
                theme.DANGER_TEXT,
                0.8,
            )
        elif self.out_of_service:
            p.fill(rect, theme.DANGER, p.metrics.gap)
            p.text(
                _("Out of service: the kiosk's storage is full. The lockers cannot be opened.")
                if self.storage_full
                else _("Out of service: the lockers cannot be opened right now."),
                rect,
                theme.DANGER_TEXT,
                0.8,
            )
        else:
            p.fill(rect, theme.PANEL, p.metrics.gap)
            inner = rect.inflate(-2 * p.metrics.gap, 0)
            if not (self.contact and self.screen.shows_help):
                p.text(name, inner, theme.INK, 0.9, spoken=False)  # said on every screen: noise
                return
            name_rect, help_rect = cols(inner, [1.3, 1.2], p.metrics.gap)
            p.text(name, name_rect, theme.INK, 0.8, spoken=False)
            p.text(self.help_line, help_rect, theme.INK, 0.7, spoken=False)

    @property
    def help_line(self) -> str:
        """ "Help: <the operator's contact>", in the language on screen."""
        return _("Help: {contact}").format(contact=self.contact)
