"""Courier and technician sign-in, in two steps: who (a name on the keyboard, or a
badge shown to the scanner), then the PIN on the keypad.

A PIN is checked against the one person named, so it takes both: a badge only names
its holder (docs/security.md, "Couriers and technicians").
"""

from __future__ import annotations

from typing import Literal

from kiosk.protocol.states import Role
from kiosk.ui import theme
from kiosk.ui.i18n import _
from kiosk.ui.link import Message
from kiosk.ui.scanned import badge as scanned_badge
from kiosk.ui.screen import Screen, ScreenContext
from kiosk.ui.screens.keyboard import keyboard
from kiosk.ui.screens.keypad import keypad
from kiosk.ui.screens.pickup import countdown_seconds
from kiosk.ui.widgets import Button, Painter, Rect, cols, rows
from kiosk.ui.words import error_text

PIN_MAX = 12
NAME_MAX = 32
NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


class SignInScreen(Screen):
    def __init__(self, app: ScreenContext, message: str = "") -> None:
        super().__init__(app)
        self.step: Literal["who", "pin"] = "who"
        self.name = ""
        self.badge: str | None = None
        self.pin = ""
        self.message = message
        self.busy = False
        self.locked_until: float | None = None

    @property
    def pin_min(self) -> int:
        """The fewest digits a PIN of anybody's may have (the kiosk says)."""
        kiosk = self.app.kiosk
        return int(kiosk.get("pin_digits", 6)) if kiosk else 6

    def build(self, area: Rect, p: Painter) -> list[Button]:
        if self.step == "who":
            return self._build_who(area, p)
        return self._build_pin(area, p)

    def _build_who(self, area: Rect, p: Painter) -> list[Button]:
        m = p.metrics
        if m.is_portrait:
            title, field, note, keys, actions = rows(area, [1, 1, 1, 5, 1], m.gap)
        else:
            top, keys, actions = rows(area, [1, 4, 1], m.gap)
            title, field = cols(top, [1, 1.6], m.gap)
        p.text(_("Sign in: scan your badge or type your name."), title, theme.INK, 0.85)
        p.fill(field, theme.PANEL, m.gap)
        p.text(self.name or _("Name"), field, theme.INK, 1.0, spoken=False)
        if m.is_portrait:
            back, ok = cols(actions, [1, 1.3], m.gap)
        else:
            back, note, ok = cols(actions, [1, 2.6, 1.2], m.gap)
        self._note(p, note)
        buttons = [
            Button(back, _("Back"), lambda: self.app.home(), "secondary", name="back"),
            Button(ok, _("Next"), self.submit, "ok", bool(self.name), name="next", size=1.2),
        ]
        return buttons + keyboard(
            keys, m.gap, m.min_target, self.on_text, self.clear, self.on_backspace
        )

    def _build_pin(self, area: Rect, p: Painter) -> list[Button]:
        m = p.metrics
        left, right = (rows if m.is_portrait else cols)(area, [1, 1.1], m.gap)
        title, hint, shown, note, actions = rows(left, [1, 0.8, 1.1, 1.5, 1], m.gap)
        p.text(_("Sign in"), title, theme.INK, 1.2)
        if self.badge is not None:
            p.text(_("Badge read. Type your PIN."), hint, theme.INK, 0.8)
        else:
            p.text(_("{name}: type your PIN.").format(name=self.name), hint, theme.INK, 0.8)
        p.fill(shown, theme.PANEL, m.gap)
        p.text(" ".join("•" * len(self.pin)) or _("PIN"), shown, theme.INK, 1.4, spoken=False)
        self._note(p, note)
        back, ok = cols(actions, [1, 1.4], m.gap)
        can_send = len(self.pin) >= self.pin_min and not self.busy and self.locked_until is None
        buttons = [
            Button(back, _("Back"), self.back_to_who, "secondary", name="back"),
            Button(ok, _("OK"), self.submit, "ok", can_send, name="ok", size=1.2),
        ]
        return buttons + keypad(right, m.gap, self.on_text, self.clear, self.on_backspace)

    def _note(self, p: Painter, rect: Rect) -> None:
        if self.locked_until is not None:
            wait = countdown_seconds(self.locked_until, self.app.clock())
            text = _("Too many wrong tries. Please wait {seconds} s.").format(seconds=wait)
            p.text(text, rect, theme.DANGER, 0.85)
        elif self.busy:
            p.text(_("Signing in…"), rect, theme.INK, 0.85)
        elif self.message:
            p.text(self.message, rect, theme.DANGER, 0.85)

    # -- input ----------------------------------------------------------------------

    def on_text(self, text: str) -> None:
        if self.busy:
            return
        if self.step == "who" and set(text) <= NAME_CHARS and len(self.name) < NAME_MAX:
            self.name += text
            self.message = ""
        elif self.step == "pin" and text.isdigit() and len(self.pin) < PIN_MAX:
            self.pin += text
            self.message = ""

    def on_backspace(self) -> None:
        if self.step == "who":
            self.name = self.name[:-1]
        else:
            self.pin = self.pin[:-1]

    def clear(self) -> None:
        if self.step == "who":
            self.name = ""
        else:
            self.pin = ""
        self.message = ""

    def on_enter(self) -> None:
        self.submit()

    def on_scan(self, text: str) -> bool:
        """A badge shown to the scanner names its holder, who then types their PIN (read
        as a parcel barcode is: a scanner's symbology prefix and control bytes are not
        part of it)."""
        if self.busy or self.locked_until is not None:
            return False
        badge = scanned_badge(text)
        if badge is None:
            self.message = _("That badge cannot be read. Please scan it again or type your name.")
            return False
        self.step, self.badge, self.name, self.pin, self.message = "pin", badge, "", "", ""
        return True

    def back_to_who(self) -> None:
        self.step, self.badge, self.pin, self.message = "who", None, "", ""

    def submit(self) -> None:
        if self.busy or self.locked_until is not None:
            return
        if self.step == "who":
            if self.name:
                self.step, self.message = "pin", ""
            return
        if not self.pin_min <= len(self.pin) <= PIN_MAX:
            self.message = self._pin_length()
            return
        who = {"badge": self.badge} if self.badge is not None else {"user": self.name}
        self._send({**who, "pin": self.pin})

    def _pin_length(self) -> str:
        return _("A PIN has {fewest} to {most} digits.").format(fewest=self.pin_min, most=PIN_MAX)

    def _send(self, body: dict[str, str]) -> None:
        self.busy = True
        self.message = ""
        self.app.call("POST", "/v1/sessions", body, on_done=self._answered)

    def _answered(self, result: Message) -> None:
        self.busy = False
        self.pin = ""
        if result["ok"]:
            self.app.session = result["data"]
            self._enter(str(result["data"].get("role", "")))
            return
        self.app.sound.error()
        status = result.get("status")
        if status == 429:
            self.locked_until = self.app.clock() + float(result.get("retry_after") or 30)
        elif status == 401 and self.badge is not None:
            self.message = _("That badge or PIN is not right. Please try again.")
        elif status == 401:
            self.message = _("That name or PIN is not right. Please try again.")
        elif status == 400:
            self.message = self._pin_length()
        else:
            self.message = error_text(result, self.app)

    def _enter(self, role: str) -> None:
        if role == Role.TECHNICIAN:
            self.app.to_technician()
        else:
            self.app.to_courier_menu()

    # -- the lockout countdown ------------------------------------------------------

    def next_timer(self) -> float | None:
        if self.locked_until is None:
            return None
        return min(self.locked_until, self.app.clock() + 1.0)

    def on_timer(self) -> None:
        if self.locked_until is not None and self.app.clock() >= self.locked_until:
            self.locked_until = None
            self.message = ""
