"""A door is open: the wall with that door highlighted, what to do, and what next.

Followed through the daemon's event stream: when the operation ends, the screen turns
into the customer's "Thank you" or the courier's receipt. A courier also gets "Doesn't
fit", "Reopen", "Cancel" and "The door did not open" while the door is open; a customer
(also for a moment after the door closed) and a courier "Report a problem"
(:mod:`kiosk.ui.screens.problem`).

A customer who walks off with the door open does not keep the kiosk: after
``ui.door_open_grace_s`` the screen goes home, which names the door to the next person
(the daemon raises the door's alarm as ever).
"""

from __future__ import annotations

from typing import Any

from kiosk.protocol.events import ItemCheck, OpStep
from kiosk.protocol.states import OpStatus, Purpose, Role
from kiosk.protocol.views import OperationView
from kiosk.ui import theme
from kiosk.ui.i18n import _, ngettext
from kiosk.ui.link import Message
from kiosk.ui.screen import Screen, ScreenContext
from kiosk.ui.screens.dialogs import ConfirmDialog
from kiosk.ui.screens.home import door_list
from kiosk.ui.screens.pickup import item_notice, op_message
from kiosk.ui.screens.problem import report_button
from kiosk.ui.speech.phrases import door_position
from kiosk.ui.wall import draw_wall
from kiosk.ui.widgets import Button, Painter, Rect, cols, rows
from kiosk.ui.words import error_text

THANK_YOU_S = 6.0
AGAIN_S = 60.0
"""How long after a pickup the door may be opened again, where the pickup's answer does
not say (``again_s``: the daemon's ``doors.reopen_after_pickup_s`` decides); the
thank-you stays that long when a parcel still seems to be inside."""


class DoorScreen(Screen):
    def __init__(
        self, app: ScreenContext, view: OperationView, role: str, after: Any = None
    ) -> None:
        super().__init__(app)
        self.view = view
        self.role = role
        self.after = after  # what a courier's screen does once the door closed
        self.note = ""
        self.busy = False
        self.reminded = False  # the daemon reminded: the door has been open a while
        self.done_at: float | None = None
        self.shown_at = app.clock()
        self.left_behind: list[str] = []
        """Earlier doors of this journey (a courier's "Doesn't fit"), named while open."""
        # A pickup's operation and the token that opens its door again, kept across
        # reopenings (the operation's view, read again, does not carry the token).
        self.again: tuple[int, str] | None = None
        if view.get("again_token") and view["purpose"] == Purpose.PICKUP:
            self.again = (int(view["operation"]), str(view["again_token"]))
        self.again_s = float(view.get("again_s", AGAIN_S))
        self.again_until: float | None = None
        if view.get("replaces") and view["status"] != OpStatus.OPEN_NOT_DETECTED:
            # This door replaces one that did not open: keep that news.
            self.note = _("The first door did not open; use this one.")
        self._refresh()

    @property
    def idle_timeout(self) -> bool:  # type: ignore[override]
        return self.done_at is not None  # never hurry someone at an open door

    @property
    def live(self) -> bool:
        return bool(self.view.get("live", True)) and self.view["status"] not in (
            OpStatus.CLOSED,
            OpStatus.OPEN_NOT_DETECTED,
            OpStatus.ABANDONED,
        )

    def build(self, area: Rect, p: Painter) -> list[Button]:
        m = p.metrics
        wall_area, side = (rows if m.is_portrait else cols)(area, [1, 1.4], m.gap)
        draw_wall(p, wall_area, self.app.kiosk, highlight=self.view["compartment"])
        text, notes, actions = rows(side, [2, 1, 1.4], m.gap)
        color = theme.OK if self.view["status"] == OpStatus.CLOSED else theme.INK
        p.text(op_message(self.view), text, color if color != theme.OK else theme.INK, 1.15)
        note = item_notice(self.view) or self._close_prompt() or self._close_others() or self.note
        if note:
            p.text(note, notes, theme.DANGER, 0.8)
        return self._actions(actions, m.gap)

    def spoken(self) -> list[str]:
        """Where the open door is, for a person who cannot see it highlighted."""
        if not self.live:
            return []
        wall = self.app.kiosk.get("wall", []) if self.app.kiosk else []
        return [door_position(self.view["compartment"], wall)]

    def _close_prompt(self) -> str:
        if not self.live:
            return ""
        door = self.view["compartment"]
        if self.view["status"] == OpStatus.LEFT_OPEN:
            return _("Door {door} has been open a long time. Please close it now.").format(
                door=door
            )
        if self.reminded:
            return _("Please close door {door} when you are done.").format(door=door)
        return ""

    def _close_others(self) -> str:
        """The earlier doors of this journey that are still open, every one named; a
        door that closed is no longer asked for."""
        still_open = [d for d in self.left_behind if d in self.app.open_doors]
        if not still_open:
            return ""
        return ngettext(
            "Please close door {doors}.", "Please close doors {doors}.", len(still_open)
        ).format(doors=door_list(still_open))

    def _actions(self, area: Rect, gap: int) -> list[Button]:
        if self.asking:
            return self._answers(area, gap)
        if not self.live:
            if self.role == "customer" and self._can_open_again():
                done, again = cols(area, [1, 1.3], gap)
                return [
                    Button(done, _("Done"), lambda: self.app.home(), "primary", name="done"),
                    Button(again, _("Open the door again"), self.open_again, "key",
                           not self.busy, "open-door-again", 0.8),
                ]  # fmt: skip
            if self.role == "customer":
                done, report = cols(area, [1.4, 1], gap)
                button = Button(done, _("Done"), lambda: self.app.home(), "primary", name="done")
                return [button, *self._report(report)]
            label = _("Next") if self.after else _("Done")
            return [Button(area, label, self._next, "primary", name="next")]
        if self.role != Role.COURIER:
            return self._report(cols(area, [1, 1], gap)[1])
        if self.busy:
            return []
        top, bottom = rows(area, [1, 1], gap)
        deposit = self.view["purpose"] == Purpose.DEPOSIT and not self.view.get("unused")
        if deposit:
            reopen_area, cancel_area, report_area = cols(top, [1, 1, 1], gap)
        else:
            (reopen_area, report_area), cancel_area = cols(top, [1, 1], gap), top
        buttons = [Button(reopen_area, _("Reopen"), self.reopen, "key", name="reopen", size=0.8)]
        buttons += self._report(report_area)
        if deposit:
            left, right = cols(bottom, [1, 1], gap)
            buttons += [
                Button(cancel_area, _("Cancel"), self.cancel, "secondary", name="cancel", size=0.8),
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

    @property
    def asking(self) -> bool:
        """The door closed on an empty compartment: the daemon waits for the courier to
        say whether the parcel is inside before it stores anything."""
        return self.role == Role.COURIER and not self.live and self.view.get("confirm") == "asked"

    def _answers(self, area: Rect, gap: int) -> list[Button]:
        if self.busy:
            return []
        yes, again, cancel = cols(area, [1.2, 1.2, 1], gap)
        return [
            Button(yes, _("Yes, stored"), lambda: self._answer("stored"), "ok", name="stored",
                   size=0.8),
            Button(again, _("No, open again"), lambda: self._answer("open_again"), "key",
                   name="open-again", size=0.8),
            Button(cancel, _("Cancel"), lambda: self._answer("cancel"), "secondary",
                   name="cancel-deposit", size=0.8),
        ]  # fmt: skip

    def _answer(self, answer: str) -> None:
        self.busy = True
        self.app.call(
            "POST",
            f"/v1/operations/{self.view['operation']}/confirm",
            {"answer": answer},
            on_done=lambda r: self._after_action(answer, r),
        )

    def _report(self, rect: Rect) -> list[Button]:
        """ "Report a problem" with this door's compartment (kiosk/ui/screens/problem.py)."""
        return report_button(self.app, rect, self.view, self._reported)

    def _reported(self, view: OperationView) -> None:
        self.view = view
        if not self.live and self.done_at is None:
            self.done_at = self.app.clock()

    # -- following the operation ----------------------------------------------------

    def on_message(self, msg: Message) -> None:
        if msg.get("kind") == "link" and msg.get("online"):
            self._refresh()  # events may have been missed while the daemon was away
        elif msg.get("kind") == "stream" and msg["data"].get("operation") == self.view["operation"]:
            if msg["data"].get("kind") in (OpStep.DOOR_OPEN_REMINDER, OpStep.DOOR_LEFT_OPEN):
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
            if self.again is not None and self.again_until is None:
                self.again_until = self.done_at + self.again_s

    def _can_open_again(self) -> bool:
        return (
            self.again is not None
            and self.again_until is not None
            and self.app.clock() < self.again_until
            and self.view["status"] == OpStatus.CLOSED
        )

    @property
    def thank_you_s(self) -> float:
        """A parcel still seen inside: the screen stays while the door may open again."""
        if self.view.get("item_check") == ItemCheck.STILL_INSIDE and self.again_until is not None:
            return max(THANK_YOU_S, self.again_until - (self.done_at or 0.0))
        return THANK_YOU_S

    @property
    def grace_ends(self) -> float | None:
        """When a customer's door left open gives the screen back to the next person."""
        if self.role != "customer" or not self.live:
            return None
        return self.shown_at + float(self.app.ui.get("door_open_grace_s", 60.0))

    def next_timer(self) -> float | None:
        # not while a problem is being reported: home would take the dialog away
        if self.app.dialog is not None:
            return None
        if self.done_at is not None and self.role == "customer":
            return self.done_at + self.thank_you_s
        return self.grace_ends

    def on_timer(self) -> None:
        if self.app.dialog is not None:
            return
        now = self.app.clock()
        if self.done_at is not None and now >= self.done_at + self.thank_you_s:
            self.app.home(timed_out=True)  # the next customer starts afresh
        grace_ends = self.grace_ends
        if grace_ends is not None and now >= grace_ends:
            # Home names the open door; the daemon keeps following it and alarms.
            self.app.home(timed_out=True)

    def open_again(self) -> None:
        """The customer opens the pickup's door again (a parcel left behind)."""
        if self.again is None or self.busy:
            return
        self.busy = True
        op_id, token = self.again
        self.app.call("POST", f"/v1/operations/{op_id}/again", {"token": token},
                      on_done=self._opened_again)  # fmt: skip

    def _opened_again(self, result: Message) -> None:
        self.busy = False
        if not result["ok"]:
            self.note = error_text(result, self.app)
            if (result.get("details") or {}).get("reason") == "again_over":
                over = _("This door can no longer be opened again. For help: {contact}")
                contact = self.app.kiosk.get("operator_contact", "") if self.app.kiosk else ""
                self.note = over.format(contact=contact)
            return
        screen = DoorScreen(self.app, result["data"], self.role)
        screen.again, screen.again_until = self.again, self.again_until
        self.app.goto(screen)

    # -- courier actions ------------------------------------------------------------

    def _post(self, action: str) -> None:
        self.busy = True
        self.app.call(
            "POST",
            f"/v1/operations/{self.view['operation']}/{action}",
            on_done=lambda r: self._after_action(action, r),
            doors=2,  # another door opens if the first does not
        )

    def reopen(self) -> None:
        self._post("reopen")

    def bigger(self) -> None:
        self._post("bigger")

    def cancel(self) -> None:
        """The courier gives up this deposit: nothing is stored once the door closes."""
        self._post("cancel")

    def not_opened(self) -> None:
        """Asked first: it takes the compartment out of service, and sits beside
        "Doesn't fit"."""
        question = _("Did door {door} really not open? It will be taken out of service.")
        self.app.show_dialog(
            ConfirmDialog(
                self.app,
                question.format(door=self.view["compartment"]),
                _("It did not open"),
                lambda: self._post("not-opened"),
            )
        )

    def _after_action(self, action: str, result: Message) -> None:
        self.busy = False
        if not result["ok"]:
            self.note = error_text(result, self.app)
            reason = (result.get("details") or {}).get("reason")
            if reason == "no_compartment":
                self.note = _("No bigger compartment is free.")
            elif reason == "door_seen_open":
                self.note = _(
                    "Door {door} is open, its sensor says: pull the door. "
                    "If it really is stuck, cancel this deposit."
                ).format(door=self.view["compartment"])
            return
        view = result["data"]
        if action in ("bigger", "not-opened") and view["operation"] != self.view["operation"]:
            screen = DoorScreen(self.app, view, self.role, self.after)
            screen.left_behind = [*self.left_behind, self.view["compartment"]]
            self.app.goto(screen)
            return
        if action == "open_again":
            self.app.goto(DoorScreen(self.app, view, self.role, self.after))
            return
        self.view = view

    def _next(self) -> None:
        if self.after is not None:
            self.after()
        else:
            self.app.home()
