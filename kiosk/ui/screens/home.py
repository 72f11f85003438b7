"""Home: pick up a parcel, the courier entry, languages, large text, speech, the help
line, and what the next person should know: doors left open, the keypad's lockout."""

from __future__ import annotations

from collections.abc import Iterable

from kiosk.ui import i18n, theme
from kiosk.ui.guidance import Mode
from kiosk.ui.i18n import _, ngettext
from kiosk.ui.screen import Screen, ScreenContext
from kiosk.ui.screens.pickup import PickupScreen, countdown_seconds, lockout_text
from kiosk.ui.widgets import Button, Painter, Rect, cols, rows


def door_list(doors: Iterable[str]) -> str:
    """Door ids for a sentence, in order: "A01, A04, A07"."""
    return ", ".join(sorted(doors))


def open_doors_notice(doors: Iterable[str]) -> str:
    """Home's line about the doors left open, every one named (empty if none)."""
    named = sorted(doors)
    if not named:
        return ""
    return ngettext(
        "Door {doors} is open: please close it.",
        "Doors {doors} are open: please close them.",
        len(named),
    ).format(doors=door_list(named))


class HomeScreen(Screen):
    idle_timeout = False
    shows_help = False  # its own help line, in the footer

    def __init__(self, app: ScreenContext) -> None:
        super().__init__(app)

    def build(self, area: Rect, p: Painter) -> list[Button]:
        m = p.metrics
        notices = self.notices()
        if notices:
            main, notice, footer = rows(area, [4, 0.9 * len(notices), 1.3], m.gap)
            for line, rect in zip(notices, rows(notice, [1] * len(notices), 0), strict=True):
                p.text(line, rect, theme.DANGER, 0.75)
        else:
            main, footer = rows(area, [5, 1.3], m.gap)
        if m.is_portrait:
            pickup, courier = rows(main, [3, 1], m.gap)
        else:
            pickup, courier = cols(main, [3, 1.2], m.gap)
        usable = self.app.online and not self.app.out_of_service
        buttons = [
            Button(
                pickup,
                _("Pick up a parcel"),
                self.pickup,
                "primary",
                usable,
                "pickup",
                1.8,
                _("Type your pickup code or scan it"),
            ),
            Button(
                courier,
                _("Courier"),
                self.courier,
                "secondary",
                self.app.online,
                "courier",
                1.1,
                _("Deliver or collect"),
            ),
        ]
        languages = self.app.kiosk.get("languages", ["en"]) if self.app.kiosk else ["en"]
        speech = self.app.guidance.is_available
        # a button per language, then Large text (and Speech, where there is a voice)
        tools = [1.0] * len(languages) + [1.3] + ([1.3] if speech else [])
        if m.is_portrait:  # too narrow for the help line beside the buttons
            help_rect, tools_row = rows(footer, [1, 2], m.gap)
            tool_rects = cols(tools_row, tools, m.gap)
        else:
            help_rect, *tool_rects = cols(footer, [4, *tools], m.gap)
        if self.app.contact:
            p.text(
                self.app.help_line,
                help_rect,
                theme.INK,
                0.75,
                align="left",
            )
        for rect, code in zip(tool_rects, languages, strict=False):
            current = i18n.language() == code
            buttons.append(
                Button(
                    rect,
                    i18n.LANGUAGE_NAMES.get(code, code),
                    lambda c=code: self.app.set_language(c),  # type: ignore[misc]
                    "ok" if current else "key",
                    name=f"lang-{code}",
                    size=0.7,
                )
            )
        large = self.app.metrics.large_text
        buttons.append(
            Button(
                tool_rects[len(languages)],
                _("Large text"),
                lambda: self.app.set_large_text(not large),
                "ok" if large else "key",
                name="large-text",
                size=0.7,
            )
        )
        if speech:
            buttons.append(self._speech_button(tool_rects[-1]))
        return buttons

    def notices(self) -> list[str]:
        """What the next person should know before they start: doors left open."""
        lines = [open_doors_notice(self.app.open_doors)]
        until = self.app.keypad_locked_until
        if until is not None and self.app.keypad_wait is not None:
            lines.append(lockout_text(countdown_seconds(until, self.app.clock())))
        return [line for line in lines if line]

    def next_timer(self) -> float | None:
        """The lockout's countdown, a second at a time."""
        if self.app.keypad_wait is None:
            return None
        return min(self.app.keypad_locked_until or 0.0, self.app.clock() + 1.0)

    def _speech_button(self, rect: Rect) -> Button:
        """Spoken guidance for this person: off, on (out loud), on (headphones)."""
        mode = self.app.guidance.mode
        labels = {
            Mode.OFF: _("Speech"),
            Mode.ALOUD: _("Speech: on"),
            Mode.HEADPHONES: _("Speech: headphones"),
        }
        style = "key" if mode is Mode.OFF else "ok"
        return Button(
            rect, labels[mode], self.app.guidance.next_mode, style, name="speech", size=0.7
        )

    def spoken(self) -> list[str]:
        """What the two big buttons offer: a voice has no other way to find them."""
        return [
            _("Pick up a parcel"),
            _("Type your pickup code or scan it"),
            _("Courier"),
            _("Deliver or collect"),
        ]

    def pickup(self) -> None:
        self.app.goto(PickupScreen(self.app))

    def courier(self) -> None:
        self.app.to_sign_in()

    def on_scan(self, text: str) -> bool:
        """A pickup code shown to the scanner works like typing it."""
        screen = PickupScreen(self.app)
        self.app.goto(screen)
        return screen.on_scan(text)

    def on_text(self, text: str) -> None:
        if text.isdigit():
            self.pickup()
            self.app.screen.on_text(text)

    def on_escape(self) -> None:
        """Home is home."""
