"""The customer's keypad: type the pickup code (or scan it), the door opens."""

from __future__ import annotations

import math

from kiosk.protocol.codes import group_code
from kiosk.protocol.events import EventKind, ItemCheck
from kiosk.protocol.states import OpStatus, Purpose
from kiosk.protocol.stream import StreamKind
from kiosk.protocol.views import OperationView
from kiosk.ui import theme
from kiosk.ui.i18n import _
from kiosk.ui.link import Message
from kiosk.ui.scanned import pickup_code
from kiosk.ui.screen import Screen, ScreenContext
from kiosk.ui.screens.keypad import keypad
from kiosk.ui.speech.phrases import (
    lockout_countdown,
    lockout_over,
    lockout_started,
    next_countdown_mark,
)
from kiosk.ui.widgets import Button, Painter, Rect, cols, rows
from kiosk.ui.words import error_text


def lockout_text(seconds: int) -> str:
    """The pickup keypad's lockout, in words that blame nobody: it is the kiosk's, and
    the person reading it may not have typed a single code."""
    return _("Too many wrong codes were tried here. The keypad opens again in {seconds} s.").format(
        seconds=seconds
    )


def countdown_seconds(locked_until: float, now: float) -> int:
    """A lockout's countdown in whole seconds, rounded up like the daemon's wait and the
    spoken countdown: it says 1 until the keypad takes input again, never 0 before."""
    return max(1, math.ceil(locked_until - now))


class PickupScreen(Screen):
    def __init__(self, app: ScreenContext) -> None:
        super().__init__(app)
        self.code = ""
        self.message = ""
        self.busy = False
        self.opening: tuple[int, str] | None = None
        """The operation and door of the code being answered, once the daemon fires it."""
        self.retrying = False  # the door was not seen open: the lock fires once more
        self.following = False
        """The answer did not come in time, but the door's operation is known: its own
        state gives the outcome."""
        self.locked_until: float | None = app.keypad_locked_until if app.keypad_wait else None
        self.said_left: float | None = None
        """Seconds left when the lockout's countdown was last said out loud."""
        self.said_lockout = ""

    @property
    def digits(self) -> int:
        kiosk = self.app.kiosk
        return int(kiosk.get("pickup_code_digits", 8)) if kiosk else 8

    def build(self, area: Rect, p: Painter) -> list[Button]:
        self._follow_lockout()
        m = p.metrics
        left, right = (rows if m.is_portrait else cols)(area, [1, 1.1], m.gap)
        title, shown, note, actions = rows(left, [1, 1.2, 1.6, 1], m.gap)
        p.text(_("Type your pickup code"), title, theme.INK, 1.1)
        p.fill(shown, theme.PANEL, m.gap)
        shown_code = group_code(self.code.ljust(self.digits, "_"))
        p.text(shown_code, shown, theme.INK, 1.5, spoken=False)  # the key echo speaks for it
        if self.locked_until is not None:
            wait = countdown_seconds(self.locked_until, self.app.clock())
            p.text(lockout_text(wait), note, theme.DANGER, 0.9, spoken=False)  # said by spoken()
        elif self.busy:
            p.text(self._progress(), note, theme.INK, 0.9)
        elif self.message:
            p.text(self.message, note, theme.DANGER, 0.9)
        back, ok = cols(actions, [1, 1.4], m.gap)
        can_send = len(self.code) == self.digits and not self.busy and self.locked_until is None
        buttons = [
            Button(back, _("Back"), lambda: self.app.home(), "secondary", name="back"),
            Button(ok, _("OK"), self.submit, "ok", can_send, name="ok", size=1.2),
        ]
        return buttons + keypad(
            right, m.gap, self.on_text, self.clear, self.on_backspace,
            enabled=self.locked_until is None,
        )  # fmt: skip

    # -- input ----------------------------------------------------------------------

    def on_text(self, text: str) -> None:
        if self.locked_until is not None:
            self.app.sound.error()  # the keypad takes nothing; the lockout line says why
            return
        if not text.isdigit() or self.busy:
            return
        if len(self.code) >= self.digits:
            # A digit too many is refused out loud: a silent key looks like a broken one.
            self.app.sound.error()
            self.message = _(
                "A pickup code has {digits} digits. Use Delete or Clear to change it."
            ).format(digits=self.digits)
            return
        self.code += text
        self.message = ""

    def on_backspace(self) -> None:
        if self.locked_until is None:
            self.code = self.code[:-1]
            self.message = ""

    def clear(self) -> None:
        if self.locked_until is None:
            self.code = ""
            self.message = ""

    def on_enter(self) -> None:
        self.submit()

    def on_scan(self, text: str) -> bool:
        """A pickup code printed as a QR code or barcode works like typing it."""
        if self.locked_until is not None:
            return False  # not taken, not wiped: the lockout line says why
        code = pickup_code(text, self.digits)
        if code is None:
            self.message = _("That pickup code cannot be read. Please scan it again or type it.")
            return False
        self.code = code
        self.submit()
        return True

    def submit(self) -> None:
        if self.busy or self.locked_until is not None:
            return
        if len(self.code) != self.digits:
            self.message = _("A pickup code has {digits} digits.").format(digits=self.digits)
            return
        self.busy = True
        self.opening, self.retrying = None, False
        self.app.call("POST", "/v1/pickup", {"code": self.code}, on_done=self._answered, doors=1)

    # -- the answer, and the door's progress until it comes -------------------------

    def _progress(self) -> str:
        if self.opening is None:
            return _("Checking your code…")
        door = self.opening[1]
        if self.retrying:
            return _("Door {door} did not open yet. Trying again…").format(door=door)
        return _("Opening door {door}…").format(door=door)

    def on_message(self, msg: Message) -> None:
        """While the code is answered: the daemon's events say which door it fires and
        whether it fires again, and end a wait that outlived the link's time-out."""
        data = msg.get("data") or {}
        if not self.busy or msg.get("kind") != "stream":
            return
        detail = data.get("detail") or {}
        if data.get("kind") == EventKind.UNLOCK and detail.get("purpose") == Purpose.PICKUP:
            self.opening = (int(detail["operation"]), str(data.get("compartment")))
        elif self.opening is None or self.opening[0] != detail.get(
            "operation", data.get("operation")
        ):
            return
        elif data.get("kind") == "unlock_retry":
            self.retrying = True
        elif self.following and data.get("type") == StreamKind.OPERATION:
            self._follow()

    def _follow(self) -> None:
        assert self.opening is not None
        self.app.call("GET", f"/v1/operations/{self.opening[0]}", on_done=self._followed)

    def _followed(self, result: Message) -> None:
        if not result["ok"]:
            self._answered(result)
            return
        view = result["data"]
        if view["status"] == OpStatus.UNLOCK_SENT:
            return  # still firing: the operation's next event asks again
        if view["status"] == OpStatus.OPEN_NOT_DETECTED:
            status = {"ok": False, "status": 502, "details": {"compartment": view["compartment"]}}
            self._answered(status)
        else:
            self._answered({"ok": True, "data": view})

    def _answered(self, result: Message) -> None:
        """A wrong code stays on screen, so "please check it" can be done: the person
        clears it (or deletes a digit) themselves."""
        if not result["ok"] and result.get("status") == 0 and self.opening and not self.following:
            # The link gave up, but the daemon fired a door for this code: its operation
            # says how it ends, never "not answering" for a door still being opened.
            self.following = True
            self._follow()
            return
        self.busy = self.following = False
        if result["ok"]:
            self.code = ""
            self.app.to_door(result["data"], role="customer")
            return
        self.app.sound.error()
        locked = (result.get("details") or {}).get("reason") == "locked"
        if result.get("status") == 429 or locked:
            # A code refused by a lockout was never checked: it stays, for after the
            # countdown. The one that started the lockout was wrong, and goes.
            if locked:
                self.code = ""
            self.app.keypad_locked_for(float(result.get("retry_after") or 30))
            self.locked_until = self.app.keypad_locked_until
            self.message = ""
            return
        self.message = error_text(result, self.app)

    # -- the lockout countdown ------------------------------------------------------

    def _follow_lockout(self) -> None:
        """Take on a lockout the kiosk learnt of meanwhile (from the status: the run of
        wrong codes may have been typed at another input)."""
        until = self.app.keypad_locked_until
        if until is None or not self.app.keypad_wait:
            return
        if self.locked_until is None or until > self.locked_until:
            self.locked_until = until

    def next_timer(self) -> float | None:
        self._follow_lockout()
        if self.locked_until is None:
            return None
        return min(self.locked_until, self.app.clock() + 1.0)

    def on_timer(self) -> None:
        if self.locked_until is not None and self.app.clock() >= self.locked_until:
            self.locked_until = None
            self.message = ""

    def spoken(self) -> list[str]:
        """The lockout out loud: when it starts, at a few marks (not every second, as
        the screen counts), and once when the keypad is ready again."""
        if self.locked_until is None:
            if self.said_left is None:
                return []
            self.said_left = None
            return [lockout_over()]
        left = self.locked_until - self.app.clock()
        if self.said_left is None:
            self.said_left = left
            self.said_lockout = lockout_started(left)
        mark = next_countdown_mark(self.said_left)
        if mark is not None and left <= mark:
            self.said_left = left
            self.said_lockout = lockout_countdown(left)
        return [self.said_lockout]


def op_message(view: OperationView) -> str:
    """What a screen says about a door operation, in the person's language."""
    door = view["compartment"]
    status, purpose = view["status"], view["purpose"]
    if status == OpStatus.OPEN_NOT_DETECTED:
        return _("Door {door} did not open.").format(door=door)
    if status == OpStatus.CLOSED:
        if purpose == Purpose.DEPOSIT and view.get("problem"):
            return _("Door {door} closed; it is not used until it has been checked.").format(
                door=door
            )
        if purpose == Purpose.DEPOSIT and view.get("unused"):
            return _("Door {door} closed; the compartment is free again.").format(door=door)
        confirm = view.get("confirm")
        if purpose == Purpose.DEPOSIT and confirm == "asked":
            return _("Is the parcel inside?")
        if purpose == Purpose.DEPOSIT and confirm == "unanswered":
            return _("Nothing was stored in {door}: it waits for a technician's check.").format(
                door=door
            )
        if purpose == Purpose.DEPOSIT and confirm not in (None, "stored"):
            return _("Nothing was stored in {door}; the compartment is free again.").format(
                door=door
            )
        if purpose == Purpose.DEPOSIT:
            return _("Stored in {door}; the recipient has been notified.").format(door=door)
        if purpose == Purpose.PICKUP:
            return _("Thank you!")
        if purpose == Purpose.RETURN:
            return _("Parcel from {door} collected for return to the sender.").format(door=door)
        return _("Door {door} closed.").format(door=door)
    if view.get("unused"):
        return _("Door {door} is open: take the parcel out and close the door.").format(door=door)
    texts = {
        "pickup": _("Door {door} is open: take your parcel and close the door."),
        "deposit": _("Door {door} is open: put the parcel in and close the door."),
        "return": _("Door {door} is open: take the expired parcel and close the door."),
        "technician": _("Door {door} is open."),
        "self-test": _("Door {door} is open for the self-test: close it again."),
    }
    return texts.get(purpose, texts["technician"]).format(door=door)


def item_notice(view: OperationView) -> str:
    """The item sensor's warning for a closed door, or nothing."""
    door = view["compartment"]
    if view.get("item_check") == ItemCheck.STILL_INSIDE:
        return _("A parcel still seems to be inside door {door}. Did you take everything?").format(
            door=door
        )
    if view.get("item_check") == ItemCheck.EMPTY and view.get("confirm") == "asked":
        return _(
            "Door {door} closed, but its sensor sees nothing inside. Nothing is stored and "
            "nobody is notified until you answer."
        ).format(door=door)
    if view.get("item_check") == ItemCheck.EMPTY and view.get("confirm") == "stored":
        return _(
            "Its sensor sees nothing inside, so compartment {door} is marked for a "
            "technician's check."
        ).format(door=door)
    if view.get("item_check") == ItemCheck.EMPTY and view.get("confirm"):
        return ""
    if view.get("item_check") == ItemCheck.EMPTY:
        return _("Compartment {door} looks empty. Did the parcel go in?").format(door=door)
    return ""
