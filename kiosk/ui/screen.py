"""What a screen is, and what it may ask of the application that shows it.

A screen draws itself and answers taps, keys, scans and the daemon's messages. It reaches
the rest of the touchscreen only through :class:`ScreenContext`: the daemon's settings and
state as last read, calls over the link, the clock, the sound, and navigation (a screen
names where a person goes next; the application builds that screen). So the screens import
this module and each other one way, and never the application: it imports them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from kiosk.protocol.events import JobKind
from kiosk.protocol.views import KioskInfo, OperationView, SessionView, Status
from kiosk.ui import theme
from kiosk.ui.guidance import Guidance
from kiosk.ui.link import Message
from kiosk.ui.sound import Sound
from kiosk.ui.widgets import Button, Painter, Rect

Callback = Callable[[Message], None]


class ScreenContext(Protocol):
    """What a screen may ask of the application (:class:`~kiosk.ui.app.App` is one)."""

    clock: Callable[[], float]
    kiosk: KioskInfo | None
    """The kiosk's settings as the daemon last sent them (``GET /v1/kiosk``)."""
    status: Status | None
    online: bool
    session: SessionView | None
    """The signed-in courier's or technician's session, if any."""
    sound: Sound
    guidance: Guidance
    """Spoken guidance: whether it is on, and the home screen's button that turns it on."""
    last_input: float
    screen: Screen
    open_doors: set[str]
    """The doors the sensors see open now (home names them to the next person)."""
    keypad_locked_until: float | None
    """When the pickup keypad takes codes again, by ``clock``; None when it does now."""
    dialog: Screen | None
    """A dialog over the screen (``show_dialog``), or None."""

    @property
    def metrics(self) -> theme.Metrics: ...

    @property
    def ui(self) -> dict[str, Any]:
        """The ``[ui]`` settings, as ``GET /v1/kiosk`` gave them."""

    @property
    def keypad_wait(self) -> float | None: ...

    @property
    def contact(self) -> str:
        """The operator's contact, in the language on screen."""

    @property
    def help_line(self) -> str:
        """ "Help: <the operator's contact>", in the language on screen."""

    def in_language(self, key: str) -> str:
        """``GET /v1/kiosk``'s ``key`` (``name``, ``operator_contact``) in the language on
        screen."""

    def keypad_locked_for(self, seconds: float) -> None: ...

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        on_done: Callback | None = None,
        params: dict[str, Any] | None = None,
        doors: int = 0,
    ) -> int: ...

    def refresh_status(self) -> None: ...

    @property
    def out_of_service(self) -> bool: ...

    def set_language(self, code: str) -> None: ...

    def set_large_text(self, on: bool) -> None: ...

    # -- navigation -------------------------------------------------------------------

    def goto(self, screen: Screen) -> None: ...

    def show_dialog(self, dialog: Screen | None) -> None: ...

    def home(self, sign_out: bool = True, timed_out: bool = False) -> None: ...

    def to_sign_in(self, message: str = "") -> None: ...

    def to_courier_menu(self) -> None: ...

    def to_parcel(self, scanned: str | None = None) -> None: ...

    def to_returns(self) -> None: ...

    def to_door(self, view: OperationView, role: str) -> None: ...

    def to_technician(self) -> None: ...

    def to_job(
        self, kind: JobKind, start: bool = False, holding: int = 0, include_parcels: bool = False
    ) -> None:
        """``holding``: compartments with a parcel, which the job skips unless
        ``include_parcels``."""

    def to_event_log(self) -> None: ...


class Screen:
    """One screen. ``build`` draws it and returns its buttons; the rest are hooks."""

    idle_timeout = True
    shows_help = True
    """The header carries the help line (home has one of its own, beside the languages)."""

    def __init__(self, app: ScreenContext) -> None:
        self.app = app

    def build(self, area: Rect, p: Painter) -> list[Button]:
        raise NotImplementedError

    def on_message(self, msg: Message) -> None:
        """A result, stream or link message (every one, for screens that follow them)."""

    def on_text(self, text: str) -> None:
        """A printable key typed by a person."""

    def on_enter(self) -> None: ...

    def on_drag(self, dy: int) -> None:
        """A finger (or the mouse button) held down moved ``dy`` pixels down."""

    def on_backspace(self) -> None: ...

    def on_escape(self) -> None:
        self.app.home()

    def on_scan(self, text: str) -> bool:
        """A scanned barcode; False if this screen has no use for one."""
        return False

    def next_timer(self) -> float | None:
        """When this screen next needs ``on_timer`` (app clock), or None."""
        return None

    def on_timer(self) -> None: ...

    def spoken(self) -> list[str]:
        """What spoken guidance says beyond the texts this screen draws, for a person
        who cannot see it (a door's place in the wall): sentences in the language on
        show. Called after each frame while guidance is on; a sentence not returned
        the frame before is said (kiosk/ui/guidance.py)."""
        return []
