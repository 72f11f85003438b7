"""Home: pick up a parcel, the courier entry, languages, large text, speech, the help line."""

from __future__ import annotations

from kiosk.ui import i18n, theme
from kiosk.ui.guidance import Mode
from kiosk.ui.i18n import _
from kiosk.ui.screen import Screen, ScreenContext
from kiosk.ui.screens.pickup import PickupScreen
from kiosk.ui.widgets import Button, Painter, Rect, cols, rows


class HomeScreen(Screen):
    idle_timeout = False

    def __init__(self, app: ScreenContext) -> None:
        super().__init__(app)

    def build(self, area: Rect, p: Painter) -> list[Button]:
        m = p.metrics
        kiosk = self.app.kiosk or {}
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
        languages = kiosk.get("languages", ["en"])
        speech = self.app.guidance.is_available
        # a button per language, then Large text (and Speech, where there is a voice)
        tools = [1.0] * len(languages) + [1.3] + ([1.3] if speech else [])
        if m.is_portrait:  # too narrow for the help line beside the buttons
            help_rect, tools_row = rows(footer, [1, 2], m.gap)
            tool_rects = cols(tools_row, tools, m.gap)
        else:
            help_rect, *tool_rects = cols(footer, [4, *tools], m.gap)
        contact = kiosk.get("operator_contact", "")
        if contact:
            p.text(
                _("Help: {contact}").format(contact=contact),
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
