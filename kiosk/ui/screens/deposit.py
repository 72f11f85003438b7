"""A courier deposits a parcel: its barcode, a size, the recipient's phone, the door.

Each step asks only what the daemon does not know yet: a pre-announced parcel (size and
recipient known) opens a door as soon as it is scanned. The door itself is
:class:`~kiosk.ui.screens.door.DoorScreen`; once it closed, a receipt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kiosk.protocol.scan import display_barcode
from kiosk.protocol.states import OpStatus
from kiosk.protocol.views import SizeView
from kiosk.ui import i18n, theme
from kiosk.ui.i18n import _
from kiosk.ui.link import Message
from kiosk.ui.screen import Screen, ScreenContext
from kiosk.ui.screens.courier import CourierMenuScreen, session_lost
from kiosk.ui.screens.door import DoorScreen
from kiosk.ui.screens.keyboard import keyboard
from kiosk.ui.screens.keypad import keypad
from kiosk.ui.widgets import Button, Painter, Rect, cols, grid, rows
from kiosk.ui.words import courier_error

PHONE_MAX = 16
PHONE_MIN_DIGITS = 6


@dataclass
class Deposit:
    """What is known so far about the parcel being deposited."""

    barcode: str
    size: str | None = None
    announced: bool = False
    has_contact: bool = False
    phone: str = ""
    low: bool = False
    """A low (accessible) compartment was asked for: the daemon gives one if any fits."""


class DepositStep(Screen):
    """A step of the deposit; sends it to the daemon once nothing is left to ask."""

    def __init__(self, app: ScreenContext, deposit: Deposit | None, message: str = "") -> None:
        super().__init__(app)
        self.deposit = deposit
        self.message = message
        self.busy = ""  # what the screen is waiting for, in words

    def proceed(self) -> None:
        d = self.deposit
        assert d is not None
        if d.size is None:
            self.app.goto(SizeScreen(self.app, d))
        elif not d.has_contact and not d.phone:
            self.app.goto(PhoneScreen(self.app, d))
        else:
            self.send()

    def send(self) -> None:
        d = self.deposit
        assert d is not None
        body: dict[str, Any] = {"barcode": d.barcode, "size": d.size}
        if d.phone:
            body["phone"] = d.phone
        if d.low:
            body["accessible"] = True
        self.busy = _("Opening a door…")
        self.message = ""
        self.app.call("POST", "/v1/deposits", body, on_done=self._deposited, doors=2)

    def _deposited(self, result: Message) -> None:
        self.busy = ""
        if result["ok"]:
            door = DoorScreen(self.app, result["data"], role="courier", after=self._receipt)
            if self.deposit is not None and self.deposit.low and not door.note:
                door.note = self._not_low(result["data"]["compartment"])
            self.app.goto(door)
            return
        self.app.sound.error()
        if result.get("status") == 401:
            session_lost(self.app)
        elif result.get("status") == 409 and not result.get("details"):
            self.message = _("This parcel is already in the kiosk.")
        elif result.get("status") == 400:
            self.message = self.bad_input()
        else:
            self.message = courier_error(result, self.app)

    def _not_low(self, door: str) -> str:
        """Words for a low compartment asked for but none free that fits, else nothing."""
        wall = self.app.kiosk.get("wall", []) if self.app.kiosk else []
        if any(c["id"] == door and c.get("accessible") for c in wall):
            return ""
        return _("No low compartment is free for this size; door {door} is not low.").format(
            door=door
        )

    def bad_input(self) -> str:
        """The words for a deposit the daemon refused as malformed."""
        return _("Something about this parcel is not right. Please scan it again.")

    def _receipt(self) -> None:
        screen = self.app.screen
        view: Mapping[str, Any] = screen.view if isinstance(screen, DoorScreen) else {}
        self.app.goto(ReceiptScreen(self.app, view))

    def note(self, p: Painter, rect: Rect, size: float = 0.8) -> None:
        if self.busy:
            p.text(self.busy, rect, theme.INK, size)
        elif self.message:
            p.text(self.message, rect, theme.DANGER, size)

    def menu(self) -> None:
        self.app.goto(CourierMenuScreen(self.app))

    def on_escape(self) -> None:
        self.menu()

    def on_scan(self, text: str) -> bool:
        """Another parcel shown to the scanner: start again with that one."""
        if self.busy:
            return False
        self.app.goto(ParcelScreen(self.app, text))
        return True


class ParcelScreen(DepositStep):
    """Scan the parcel, or type its barcode on the on-screen keyboard."""

    def __init__(self, app: ScreenContext, scanned: str | None = None, message: str = "") -> None:
        super().__init__(app, None, message)
        self.text = ""
        if scanned:
            self.on_scan(scanned)

    @property
    def max_length(self) -> int:
        kiosk = self.app.kiosk
        return int(kiosk.get("max_barcode_length", 64)) if kiosk else 64

    def build(self, area: Rect, p: Painter) -> list[Button]:
        m = p.metrics
        if m.is_portrait:
            title, field, note, keys, actions = rows(area, [1, 1, 1, 5, 1], m.gap)
        else:
            top, keys, actions = rows(area, [1, 4, 1], m.gap)
            title, field = cols(top, [1, 1.6], m.gap)
        p.text(_("Scan the parcel or type its barcode."), title, theme.INK, 0.9)
        p.fill(field, theme.PANEL, m.gap)
        p.text(display_barcode(self.text) or _("Barcode"), field, theme.INK, 1.0, spoken=False)
        if m.is_portrait:
            back, ok = cols(actions, [1, 1.3], m.gap)
        else:
            back, note, ok = cols(actions, [1, 2.6, 1.2], m.gap)
        self.note(p, note, 0.75)
        can_send = bool(self.text.strip()) and not self.busy
        buttons = [
            Button(back, _("Back"), self.menu, "secondary", name="back"),
            Button(ok, _("OK"), self.submit, "ok", can_send, name="ok", size=1.2),
        ]
        return buttons + keyboard(
            keys, m.gap, m.min_target, self.on_text, self.clear, self.on_backspace
        )

    # -- input ----------------------------------------------------------------------

    def on_text(self, text: str) -> None:
        if text.isprintable() and len(self.text) < self.max_length and not self.busy:
            self.text += text
            self.message = ""

    def on_backspace(self) -> None:
        self.text = self.text[:-1]

    def clear(self) -> None:
        self.text = ""
        self.message = ""

    def on_enter(self) -> None:
        self.submit()

    def on_scan(self, text: str) -> bool:
        if self.busy:
            return False
        self.text = text
        self.submit()
        return True

    def submit(self) -> None:
        if self.busy or not self.text.strip():
            return
        self.busy = _("Checking the parcel…")
        self.message = ""
        self.app.call(
            "GET", "/v1/deposits/lookup", params={"barcode": self.text}, on_done=self._looked_up
        )

    def _looked_up(self, result: Message) -> None:
        self.busy = ""
        if result["ok"]:
            data = result["data"]
            self.deposit = Deposit(
                barcode=data["barcode"],
                size=data.get("size"),
                announced=bool(data.get("announced")),
                has_contact=bool(data.get("has_contact")),
            )
            self.proceed()
            return
        self.app.sound.error()
        status = result.get("status")
        if status == 401:
            session_lost(self.app)
        elif status in (400, 422) and len(self.text) > self.max_length:
            self.message = _("That barcode is too long. Please scan it again or type it.")
        elif status in (400, 422):
            self.message = _("That barcode cannot be read. Please scan it again or type it.")
        elif status == 409:
            self.message = _("This parcel is already in the kiosk.")
        else:
            self.message = courier_error(result, self.app)


class SizeScreen(DepositStep):
    """One button per size with its inner dimensions and how many are free."""

    def __init__(self, app: ScreenContext, deposit: Deposit, message: str = "") -> None:
        super().__init__(app, deposit, message)
        counts = app.status.get("compartments") if app.status else None
        self.free: dict[str, int] | None = counts.get("free_by_size") if counts else None
        self._load()

    def _load(self) -> None:
        self.app.call("GET", "/v1/status", on_done=self._loaded)

    def _loaded(self, result: Message) -> None:
        if result["ok"]:
            self.app.status = result["data"]
            self.free = result["data"]["compartments"]["free_by_size"]

    def build(self, area: Rect, p: Painter) -> list[Button]:
        m = p.metrics
        assert self.deposit is not None
        title, sizes, note, actions = rows(area, [0.8, 3.4, 0.8, 1], m.gap)
        text = _("Choose a size for parcel {barcode}.")
        p.text(text.format(barcode=display_barcode(self.deposit.barcode)), title, theme.INK, 0.9)
        self.note(p, note)
        known = self.app.kiosk.get("sizes", []) if self.app.kiosk else []
        n_cols = 1 if m.is_portrait or len(known) < 2 else 2
        cells = grid(sizes, n_cols, max(1, -(-len(known) // n_cols)), m.gap)
        buttons = [self._size_button(r, known, i) for i, r in enumerate(cells[: len(known)])]
        back, _spacer, low = cols(actions, [1, 0.5, 2], m.gap)
        return [
            *buttons,
            Button(back, _("Back"), self.back, "secondary", name="back"),
            self._low_button(low),
        ]

    def _low_button(self, rect: Rect) -> Button:
        """Ask for a low (accessible) compartment: on and off, lit while on."""
        assert self.deposit is not None
        on = self.deposit.low
        label = _("Low compartment: yes") if on else _("Low compartment: no")
        return Button(rect, label, self.toggle_low, "ok" if on else "key", name="low", size=0.8)

    def toggle_low(self) -> None:
        assert self.deposit is not None
        self.deposit.low = not self.deposit.low

    def _size_button(self, rect: Rect, known: list[SizeView], index: int) -> Button:
        size = known[index]
        usable, note = self._availability(size["name"], [s["name"] for s in known[index + 1 :]])
        label = _("{size} — {width} × {height} × {depth} cm").format(
            size=size["name"],
            width=cm(size["width_mm"]),
            height=cm(size["height_mm"]),
            depth=cm(size["depth_mm"]),
        )
        return Button(
            rect,
            label,
            lambda: self.choose(size["name"]),
            "primary",
            usable and not self.busy,
            name=f"size-{size['name']}",
            size=0.9,
            sublabel=note,
        )

    def _availability(self, name: str, larger: list[str]) -> tuple[bool, str]:
        if self.free is None:
            return True, ""
        count = int(self.free.get(name, 0))
        if count:
            return True, i18n.ngettext("{count} free", "{count} free", count).format(count=count)
        if any(self.free.get(n, 0) for n in larger):
            return True, _("None free: a larger door will open")
        return False, _("None free")

    def choose(self, size: str) -> None:
        assert self.deposit is not None
        if self.busy:
            return
        self.deposit.size = size
        self.proceed()

    def _deposited(self, result: Message) -> None:
        super()._deposited(result)
        if not result["ok"]:
            self._load()  # what is free has changed under us

    def back(self) -> None:
        self.app.goto(ParcelScreen(self.app))


class PhoneScreen(DepositStep):
    """The recipient's phone number, for a parcel that was not announced with one."""

    def __init__(self, app: ScreenContext, deposit: Deposit) -> None:
        super().__init__(app, deposit)
        self.phone = ""

    @property
    def digits(self) -> int:
        return sum(ch.isdigit() for ch in self.phone)

    def build(self, area: Rect, p: Painter) -> list[Button]:
        m = p.metrics
        left, right = (rows if m.is_portrait else cols)(area, [1, 1.1], m.gap)
        title, hint, shown, note, actions = rows(left, [1, 1, 1.1, 1.2, 1], m.gap)
        p.text(_("The recipient's phone number"), title, theme.INK, 1.0)
        p.text(_("The recipient gets the pickup code by text message."), hint, theme.INK, 0.75)
        p.fill(shown, theme.PANEL, m.gap)
        p.text(self.phone or _("Phone number"), shown, theme.INK, 1.2, spoken=False)
        self.note(p, note)
        back, ok = cols(actions, [1, 1.4], m.gap)
        can_send = self.digits >= PHONE_MIN_DIGITS and not self.busy
        buttons = [
            Button(back, _("Back"), self.back, "secondary", name="back"),
            Button(ok, _("OK"), self.submit, "ok", can_send, name="ok", size=1.2),
        ]
        extra = ("+", self.plus)
        return buttons + keypad(right, m.gap, self.on_text, self.clear, self.on_backspace, extra)

    def on_text(self, text: str) -> None:
        if text == "+":
            self.plus()
        elif text.isdigit() and len(self.phone) < PHONE_MAX and not self.busy:
            self.phone += text
            self.message = ""

    def plus(self) -> None:
        """A country code's "+" only makes sense in front."""
        if not self.phone and not self.busy:
            self.phone = "+"

    def on_backspace(self) -> None:
        self.phone = self.phone[:-1]

    def clear(self) -> None:
        self.phone = ""

    def on_enter(self) -> None:
        self.submit()

    def submit(self) -> None:
        assert self.deposit is not None
        if self.busy:
            return
        if self.digits < PHONE_MIN_DIGITS:
            self.message = _("That phone number is too short.")
            return
        self.deposit.phone = self.phone
        self.send()

    def bad_input(self) -> str:
        return _("That phone number does not look right. Please check it.")

    def back(self) -> None:
        assert self.deposit is not None
        if self.deposit.announced:
            self.app.goto(ParcelScreen(self.app))
        else:
            self.deposit.size = None
            self.app.goto(SizeScreen(self.app, self.deposit))


class ReceiptScreen(Screen):
    """After the door closed: where the parcel is, then the next parcel or sign out."""

    def __init__(self, app: ScreenContext, view: Mapping[str, Any]) -> None:
        """``view``: the deposit's last view, or nothing when the door screen is gone."""
        super().__init__(app)
        self.view = view

    @property
    def stored(self) -> bool:
        return (
            self.view.get("status") == OpStatus.CLOSED
            and not self.view.get("unused")
            and self.view.get("confirm") in (None, "stored")
        )

    def build(self, area: Rect, p: Painter) -> list[Button]:
        m = p.metrics
        text, actions = rows(area, [2, 1], m.gap)
        if self.stored:
            message = _("Stored in {door}; the recipient has been notified.")
            p.text(message.format(door=self.view.get("compartment", "")), text, theme.INK, 1.3)
        else:
            p.text(_("This parcel was not stored."), text, theme.DANGER, 1.3)
        nxt, menu, sign_out = cols(actions, [1.6, 1, 1], m.gap)
        return [
            Button(nxt, _("Next parcel"), self.next_parcel, "primary", name="next-parcel"),
            Button(menu, _("Menu"), self.menu, "key", name="menu"),
            Button(sign_out, _("Sign out"), lambda: self.app.home(), "secondary", name="sign-out"),
        ]

    def next_parcel(self) -> None:
        self.app.goto(ParcelScreen(self.app))

    def menu(self) -> None:
        self.app.goto(CourierMenuScreen(self.app))

    def on_scan(self, text: str) -> bool:
        """The next parcel shown to the scanner: its deposit starts at once."""
        self.app.goto(ParcelScreen(self.app, text))
        return True


def cm(mm: int | float) -> str:
    """Millimetres as centimetres, without a decimal when there is none."""
    value = round(float(mm) / 10, 1)
    return str(int(value)) if value.is_integer() else str(value)
