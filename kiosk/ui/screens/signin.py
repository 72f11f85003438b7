"""Courier and technician sign-in: a PIN on the keypad, or a badge shown to the scanner."""

from __future__ import annotations

from kiosk.ui import theme
from kiosk.ui.app import App, Screen
from kiosk.ui.i18n import _
from kiosk.ui.link import Message
from kiosk.ui.scanned import badge as scanned_badge
from kiosk.ui.screens.keypad import keypad
from kiosk.ui.screens.pickup import error_text
from kiosk.ui.widgets import Button, Painter, Rect, cols, rows

PIN_MIN, PIN_MAX = 4, 12


class SignInScreen(Screen):
    def __init__(self, app: App, message: str = "") -> None:
        super().__init__(app)
        self.pin = ""
        self.message = message
        self.busy = False
        self.locked_until: float | None = None

    def build(self, area: Rect, p: Painter) -> list[Button]:
        m = p.metrics
        left, right = (rows if m.is_portrait else cols)(area, [1, 1.1], m.gap)
        title, hint, shown, note, actions = rows(left, [1, 0.8, 1.1, 1.5, 1], m.gap)
        p.text(_("Sign in"), title, theme.INK, 1.2)
        p.text(_("Type your PIN or scan your badge."), hint, theme.INK, 0.8)
        p.fill(shown, theme.PANEL, m.gap)
        p.text(" ".join("•" * len(self.pin)) or _("PIN"), shown, theme.INK, 1.4)
        self._note(p, note)
        back, ok = cols(actions, [1, 1.4], m.gap)
        can_send = len(self.pin) >= PIN_MIN and not self.busy and self.locked_until is None
        buttons = [
            Button(back, _("Back"), lambda: self.app.home(), "secondary", name="back"),
            Button(ok, _("OK"), self.submit, "ok", can_send, name="ok", size=1.2),
        ]
        return buttons + keypad(right, m.gap, self.on_text, self.clear, self.on_backspace)

    def _note(self, p: Painter, rect: Rect) -> None:
        if self.locked_until is not None:
            wait = max(0, int(self.locked_until - self.app.clock() + 0.999))
            text = _("Too many wrong tries. Please wait {seconds} s.").format(seconds=wait)
            p.text(text, rect, theme.DANGER, 0.85)
        elif self.busy:
            p.text(_("Signing in…"), rect, theme.INK, 0.85)
        elif self.message:
            p.text(self.message, rect, theme.DANGER, 0.85)

    # -- input ----------------------------------------------------------------------

    def on_text(self, text: str) -> None:
        if text.isdigit() and len(self.pin) < PIN_MAX and not self.busy:
            self.pin += text
            self.message = ""

    def on_backspace(self) -> None:
        self.pin = self.pin[:-1]

    def clear(self) -> None:
        self.pin = ""
        self.message = ""

    def on_enter(self) -> None:
        self.submit()

    def on_scan(self, text: str) -> bool:
        """A badge shown to the scanner signs in like a PIN (read as a parcel barcode is:
        a scanner's symbology prefix and control bytes are not part of it)."""
        if self.busy or self.locked_until is not None:
            return False
        badge = scanned_badge(text)
        if badge is None:
            self.message = _("That badge cannot be read. Please scan it again or type your PIN.")
            return False
        self.pin = ""
        self._send({"badge": badge}, badge=True)
        return True

    def submit(self) -> None:
        if self.busy or self.locked_until is not None:
            return
        if not PIN_MIN <= len(self.pin) <= PIN_MAX:
            self.message = _("A PIN has 4 to 12 digits.")
            return
        self._send({"pin": self.pin}, badge=False)

    def _send(self, body: dict[str, str], badge: bool) -> None:
        self.busy = True
        self.message = ""
        self.app.call("POST", "/v1/sessions", body, on_done=lambda r: self._answered(r, badge))

    def _answered(self, result: Message, badge: bool) -> None:
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
        elif status == 401 and badge:
            self.message = _("That badge is not recognised. Please type your PIN.")
        elif status == 401:
            self.message = _("That PIN is not right. Please try again.")
        elif status == 400:
            self.message = _("A PIN has 4 to 12 digits.")
        else:
            self.message = error_text(result, self.app)

    def _enter(self, role: str) -> None:
        if role == "technician":
            from kiosk.ui.screens.technician import TechnicianScreen

            self.app.goto(TechnicianScreen(self.app))
        else:
            from kiosk.ui.screens.courier import CourierMenuScreen

            self.app.goto(CourierMenuScreen(self.app))

    # -- the lockout countdown ------------------------------------------------------

    def next_timer(self) -> float | None:
        if self.locked_until is None:
            return None
        return min(self.locked_until, self.app.clock() + 1.0)

    def on_timer(self) -> None:
        if self.locked_until is not None and self.app.clock() >= self.locked_until:
            self.locked_until = None
            self.message = ""
