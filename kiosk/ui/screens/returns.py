"""A courier collects expired parcels for return to the sender, one door after another.

Each door opens in turn (``POST /v1/returns/next``) and is shown on the wall; a checklist
holds every parcel collected so far, ticked when its door closed. When the daemon has no
more (404), a summary.
"""

from __future__ import annotations

import pygame

from kiosk.protocol.scan import display_barcode
from kiosk.protocol.states import OpStatus
from kiosk.protocol.views import OperationView
from kiosk.ui import i18n, theme
from kiosk.ui.i18n import _
from kiosk.ui.link import Message
from kiosk.ui.screen import Screen, ScreenContext
from kiosk.ui.screens.courier import CourierMenuScreen, session_lost
from kiosk.ui.screens.pickup import op_message
from kiosk.ui.wall import draw_wall
from kiosk.ui.widgets import Button, Painter, Rect, cols, rows
from kiosk.ui.words import courier_error

DONE = (OpStatus.CLOSED, OpStatus.OPEN_NOT_DETECTED, OpStatus.ABANDONED)


def is_done(view: OperationView) -> bool:
    return view.get("status") in DONE or view.get("live") is False


def checklist_line(view: OperationView, barcode: str | None = None) -> str:
    door = view.get("compartment", "")
    if barcode is None:
        barcode = display_barcode(view.get("barcode", ""))
    if view.get("status") == OpStatus.CLOSED:
        return _("{door}: {barcode}, collected").format(door=door, barcode=barcode)
    if is_done(view):
        return _("{door}: {barcode}, the door did not open").format(door=door, barcode=barcode)
    return _("{door}: {barcode}, door open").format(door=door, barcode=barcode)


def draw_checklist(p: Painter, area: Rect, collected: list[OperationView]) -> None:
    """The latest lines that fit, newest last; a tick in front of each collected one."""
    line_h = p.font(0.7).get_linesize() + p.metrics.gap // 2
    fits = max(1, area.height // line_h)
    shown = collected[-fits:]
    if len(collected) > len(shown):
        shown = collected[-(fits - 1) :] if fits > 1 else []
        more = len(collected) - len(shown)
        head = Rect(area.left, area.top, area.width, line_h)
        note = i18n.ngettext("…and {count} more", "…and {count} more", more)
        p.text(note.format(count=more), head, theme.INK, 0.7, align="left")
        area = Rect(area.left, area.top + line_h, area.width, area.height - line_h)
    for i, view in enumerate(shown):
        line = Rect(area.left, area.top + i * line_h, area.width, line_h)
        box = Rect(line.left, line.top, line_h, line_h).inflate(-6, -6)
        if view.get("status") == OpStatus.CLOSED:
            tick(p, box)
        text = line.copy()
        text.left, text.width = box.right + p.metrics.gap, line.width - line_h - p.metrics.gap
        p.text(fitted_line(p, view, text.width), text, theme.INK, 0.7, align="left")


def fitted_line(p: Painter, view: OperationView, width: int) -> str:
    """The checklist line of ``view`` on one line of ``width``: a long barcode loses its
    front ("…4567"), as its end is what a courier compares with the label."""
    font = p.font(0.7)
    barcode = display_barcode(view.get("barcode", ""))
    line = checklist_line(view, barcode)
    while font.size(line)[0] > width and len(barcode) > 4:
        barcode = barcode[1:]
        line = checklist_line(view, "…" + barcode)
    return line


def tick(p: Painter, box: Rect) -> None:
    """A check mark, drawn (the kiosk's font has no ✓)."""
    points = [
        (box.left, box.centery),
        (box.left + box.width // 3, box.bottom),
        (box.right, box.top),
    ]
    pygame.draw.lines(p.surface, theme.OK, False, points, max(3, box.width // 6))


class ReturnsScreen(Screen):
    def __init__(self, app: ScreenContext) -> None:
        super().__init__(app)
        self.collected: list[OperationView] = []
        self.message = ""
        self.busy = False
        self.stopping = False
        self._next()

    @property
    def current(self) -> OperationView | None:
        return self.collected[-1] if self.collected else None

    @property
    def idle_timeout(self) -> bool:  # type: ignore[override]
        return self.current is None or is_done(self.current)  # never hurry an open door

    # -- the daemon -----------------------------------------------------------------

    def _next(self) -> None:
        self.busy = True
        self.message = ""
        self.app.call("POST", "/v1/returns/next", on_done=self._opened, doors=1)

    def _opened(self, result: Message) -> None:
        self.busy = False
        if result["ok"]:
            view: OperationView = result["data"]
            self.collected.append(view.copy())
            if is_done(result["data"]):  # its door did not open: on to the next one
                self._door_done()
            else:
                self._refresh()  # the door may have closed while the answer was on its way
            return
        if result.get("status") == 404:
            self._finish(complete=True)
        elif result.get("status") == 401:
            session_lost(self.app)
        else:
            self.app.sound.error()
            self.message = courier_error(result, self.app)

    def _refresh(self) -> None:
        if self.current is not None:
            op = self.current["operation"]
            self.app.call("GET", f"/v1/operations/{op}", on_done=self._update)

    def _update(self, result: Message) -> None:
        current = self.current
        if not result["ok"] or current is None or is_done(current):
            return
        if result["data"].get("operation") != current["operation"]:
            return
        current.update(result["data"])
        if is_done(current):
            self._door_done()

    def _door_done(self) -> None:
        if self.stopping:
            self._finish(complete=False)
        else:
            self._next()

    def _finish(self, complete: bool) -> None:
        self.app.goto(ReturnsDoneScreen(self.app, self.collected, complete))

    def on_message(self, msg: Message) -> None:
        current = self.current
        if current is None or is_done(current):
            return
        back_online = msg.get("kind") == "link" and bool(msg.get("online"))
        mine = msg.get("kind") == "stream" and msg["data"].get("operation") == current["operation"]
        if back_online or mine:
            self._refresh()

    # -- drawing --------------------------------------------------------------------

    def build(self, area: Rect, p: Painter) -> list[Button]:
        m = p.metrics
        wall_area, side = (rows if m.is_portrait else cols)(area, [1, 1.4], m.gap)
        current = self.current
        door = current["compartment"] if current and not is_done(current) else None
        draw_wall(p, wall_area, self.app.kiosk, highlight=door)
        text, notes, listed, actions = rows(side, [1.4, 0.8, 2, 1], m.gap)
        if self.busy or current is None or is_done(current):
            p.text(_("Opening the next door…"), text, theme.INK, 1.0)
        else:
            p.text(op_message(current), text, theme.INK, 1.0)
        if self.message:
            p.text(self.message, notes, theme.DANGER, 0.75)
        elif self.stopping and door:
            p.text(_("No more doors will open after this one."), notes, theme.INK, 0.75)
        draw_checklist(p, listed, self.collected)
        return self._actions(actions, m.gap, door)

    def _actions(self, area: Rect, gap: int, door: str | None) -> list[Button]:
        left, right = cols(area, [1, 1], gap)
        if self.message and not self.busy and door is None:
            return [
                Button(left, _("Try again"), self._next, "primary", name="retry", size=0.8),
                Button(right, _("Stop"), lambda: self._finish(False), "secondary", name="stop"),
            ]
        buttons = []
        if door is not None:
            buttons.append(Button(left, _("Reopen"), self.reopen, "key", name="reopen", size=0.8))
        if not self.stopping:
            label = _("Stop after this door")
            buttons.append(Button(right, label, self.stop, "secondary", name="stop", size=0.7))
        return buttons

    # -- the courier ----------------------------------------------------------------

    def reopen(self) -> None:
        if self.current is not None:
            op = self.current["operation"]
            self.app.call("POST", f"/v1/operations/{op}/reopen", on_done=self._reopened, doors=1)

    def _reopened(self, result: Message) -> None:
        if not result["ok"]:
            self.message = courier_error(result, self.app)

    def stop(self) -> None:
        """Stop now, or once the open door (or the one about to open) is closed."""
        if self.busy or (self.current is not None and not is_done(self.current)):
            self.stopping = True
        else:
            self._finish(complete=False)

    def on_escape(self) -> None:
        self.stop()


class ReturnsDoneScreen(Screen):
    def __init__(self, app: ScreenContext, collected: list[OperationView], complete: bool) -> None:
        super().__init__(app)
        self.collected = collected
        self.complete = complete

    def build(self, area: Rect, p: Painter) -> list[Button]:
        m = p.metrics
        title, summary, listed, actions = rows(area, [1, 0.8, 3, 1], m.gap)
        count = sum(1 for v in self.collected if v.get("status") == OpStatus.CLOSED)
        if not self.collected:
            p.text(_("There are no expired parcels to collect."), title, theme.INK, 1.2)
        elif self.complete:
            p.text(_("All expired parcels collected"), title, theme.INK, 1.2)
        else:
            p.text(_("Collection stopped"), title, theme.INK, 1.2)
        if self.collected:
            text = i18n.ngettext(
                "{count} parcel collected for return to the sender.",
                "{count} parcels collected for return to the sender.",
                count,
            )
            p.text(text.format(count=count), summary, theme.INK, 0.9)
        draw_checklist(p, listed, self.collected)
        menu, sign_out = cols(actions, [1, 1], m.gap)
        return [
            Button(menu, _("Menu"), self.menu, "primary", name="menu"),
            Button(sign_out, _("Sign out"), lambda: self.app.home(), "secondary", name="sign-out"),
        ]

    def menu(self) -> None:
        self.app.goto(CourierMenuScreen(self.app))

    def on_escape(self) -> None:
        self.menu()
