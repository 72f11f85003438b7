"""A door is open: the wall with that door highlighted, what to do, and what next.

Followed through the daemon's event stream: when the operation ends, the screen turns
into the customer's "Thank you" or the courier's receipt. A courier also gets "Doesn't
fit", "Reopen" and "The door did not open" while the door is open.
"""

from __future__ import annotations

from typing import Any

from kiosk.ui import theme
from kiosk.ui.i18n import _
from kiosk.ui.link import Message
from kiosk.ui.screen import Screen, ScreenContext
from kiosk.ui.screens.pickup import error_text, item_notice, op_message
from kiosk.ui.speech.phrases import door_position
from kiosk.ui.wall import draw_wall
from kiosk.ui.widgets import Button, Painter, Rect, cols, rows

THANK_YOU_S = 6.0


class DoorScreen(Screen):
    def __init__(
        self, app: ScreenContext, view: dict[str, Any], role: str, after: Any = None
    ) -> None:
        super().__init__(app)
        self.view = view
        self.role = role
        self.after = after  # what a courier's screen does once the door closed
        self.note = ""
        self.busy = False
        self.reminded = False  # the daemon reminded: the door has been open a while
        self.done_at: float | None = None
        if view.get("replaces") and view["status"] != "OPEN_NOT_DETECTED":
            # This door replaces one that did not open: keep that news.
            self.note = _("The first door did not open; use this one.")
        self._refresh()

    @property
    def idle_timeout(self) -> bool:  # type: ignore[override]
        return self.done_at is not None  # never hurry someone at an open door

    @property
    def live(self) -> bool:
        return bool(self.view.get("live", True)) and self.view["status"] not in (
            "CLOSED",
            "OPEN_NOT_DETECTED",
            "ABANDONED",
        )

    def build(self, area: Rect, p: Painter) -> list[Button]:
        m = p.metrics
        wall_area, side = (rows if m.is_portrait else cols)(area, [1, 1.4], m.gap)
        draw_wall(p, wall_area, self.app.kiosk, highlight=self.view["compartment"])
        text, notes, actions = rows(side, [2, 1, 1.4], m.gap)
        color = theme.OK if self.view["status"] == "CLOSED" else theme.INK
        p.text(op_message(self.view), text, color if color != theme.OK else theme.INK, 1.15)
        note = item_notice(self.view) or self._close_prompt() or self.note
        if note:
            p.text(note, notes, theme.DANGER, 0.8)
        return self._actions(actions, m.gap)

    def spoken(self) -> list[str]:
        """Where the open door is, for a person who cannot see it highlighted."""
        if not self.live:
            return []
        return [door_position(self.view["compartment"], (self.app.kiosk or {}).get("wall", []))]

    def _close_prompt(self) -> str:
        if not self.live:
            return ""
        door = self.view["compartment"]
        if self.view["status"] == "LEFT_OPEN":
            return _("Door {door} has been open a long time. Please close it now.").format(
                door=door
            )
        if self.reminded:
            return _("Please close door {door} when you are done.").format(door=door)
        return ""

    def _actions(self, area: Rect, gap: int) -> list[Button]:
        if not self.live:
            if self.role == "customer":
                return [Button(area, _("Done"), lambda: self.app.home(), "primary", name="done")]
            label = _("Next") if self.after else _("Done")
            return [Button(area, label, self._next, "primary", name="next")]
        if self.role != "courier" or self.busy:
            return []
        top, bottom = rows(area, [1, 1], gap)
        buttons = [Button(top, _("Reopen"), self.reopen, "key", name="reopen", size=0.8)]
        if self.view["purpose"] == "deposit" and not self.view.get("unused"):
            left, right = cols(bottom, [1, 1], gap)
            buttons += [
                Button(left, _("Doesn't fit"), self.bigger, "warn", name="bigger", size=0.8),
                Button(
                    right,
                    _("The door did not open"),
                    self.not_opened,
                    "danger",
                    name="not-opened",
                    size=0.7,
                ),
            ]
        return buttons

    # -- following the operation ----------------------------------------------------

    def on_message(self, msg: Message) -> None:
        if msg.get("kind") == "link" and msg.get("online"):
            self._refresh()  # events may have been missed while the daemon was away
        elif msg.get("kind") == "stream" and msg["data"].get("operation") == self.view["operation"]:
            if msg["data"].get("kind") in ("door_open_reminder", "door_left_open"):
                self.reminded = True
            self._refresh()

    def _refresh(self) -> None:
        self.app.call("GET", f"/v1/operations/{self.view['operation']}", on_done=self._update)

    def _update(self, result: Message) -> None:
        if not result["ok"]:
            return
        self.view = result["data"]
        if not self.live and self.done_at is None:
            self.done_at = self.app.clock()
            self.app.last_input = self.app.clock()

    def next_timer(self) -> float | None:
        if self.done_at is not None and self.role == "customer":
            return self.done_at + THANK_YOU_S
        return None

    def on_timer(self) -> None:
        if self.done_at is not None and self.app.clock() >= self.done_at + THANK_YOU_S:
            self.app.home(timed_out=True)  # the next customer starts afresh

    # -- courier actions ------------------------------------------------------------

    def _post(self, action: str) -> None:
        self.busy = True
        self.app.call(
            "POST",
            f"/v1/operations/{self.view['operation']}/{action}",
            on_done=lambda r: self._after_action(action, r),
        )

    def reopen(self) -> None:
        self._post("reopen")

    def bigger(self) -> None:
        self._post("bigger")

    def not_opened(self) -> None:
        self._post("not-opened")

    def _after_action(self, action: str, result: Message) -> None:
        self.busy = False
        if not result["ok"]:
            self.note = error_text(result, self.app)
            if (result.get("details") or {}).get("reason") == "no_compartment":
                self.note = _("No bigger compartment is free.")
            return
        view = result["data"]
        if action in ("bigger", "not-opened") and view["operation"] != self.view["operation"]:
            old = self.view["compartment"]
            screen = DoorScreen(self.app, view, self.role, self.after)
            screen.note = _("Please close door {door}.").format(door=old)
            self.app.goto(screen)
            return
        self.view = view

    def _next(self) -> None:
        if self.after is not None:
            self.after()
        else:
            self.app.home()
