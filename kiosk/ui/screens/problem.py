"""Reporting a problem with the compartment of one's door, in two taps: "Report a
problem", then what is wrong. The daemon raises an alarm for the operator, and takes a
compartment reported unusable out of service; the dialog then says what happens next.
"""

from __future__ import annotations

from collections.abc import Callable

from kiosk.protocol.views import OperationView
from kiosk.ui import theme
from kiosk.ui.i18n import _
from kiosk.ui.link import Message
from kiosk.ui.screen import Screen, ScreenContext
from kiosk.ui.widgets import Button, Painter, Rect, cols, grid, rows
from kiosk.ui.words import PROBLEMS, error_text

CUSTOMER = ("compartment_empty", "parcel_damaged", "wrong_parcel", "door_wont_open")
COURIER = ("compartment_dirty", "compartment_damaged", "compartment_occupied")
UNUSABLE = ("door_wont_open", "compartment_dirty", "compartment_damaged")
"""The codes of kiosk.reasons.ProblemReason: the customer's, the courier's, and those
that take the compartment out of service."""
Reported = Callable[[OperationView], None]
"""Called with the operation's view once a report went in."""


def problem_choices(view: OperationView) -> tuple[str, ...]:
    """The problems the person of this door operation may report (none once reported)."""
    if view.get("problem"):
        return ()
    return {"pickup": CUSTOMER, "deposit": COURIER}.get(str(view.get("purpose")), ())


def what_happens_next(app: ScreenContext, reason: str, door: str) -> str:
    """After a report: what the kiosk did, and what the person does now."""
    contact = app.contact
    if reason in COURIER:
        return _(
            "Thank you, the operator has been told. Door {door} is not used until it has "
            "been checked: take the parcel out, close the door, and deposit it again."
        ).format(door=door)
    if reason in UNUSABLE:
        return _(
            "Thank you, the operator has been told. Door {door} is not used until it has "
            "been checked. Your parcel stays safe inside. For help: {contact}"
        ).format(door=door, contact=contact)
    return _(
        "Thank you, the operator has been told and will look into it. For help: {contact}"
    ).format(contact=contact)


class ProblemDialog(Screen):
    """What is wrong? A button per problem, and Cancel; then the answer and OK."""

    idle_timeout = False

    def __init__(
        self, app: ScreenContext, view: OperationView, on_reported: Reported | None = None
    ) -> None:
        super().__init__(app)
        self.view = view
        self.choices = problem_choices(view)
        self.on_reported = on_reported  # called with the operation's view after
        self.busy = False
        self.answer = ""
        self.failed = False

    def build(self, area: Rect, p: Painter) -> list[Button]:
        gap = p.metrics.gap
        p.fill(area, theme.PAPER, gap)
        inner = area.inflate(-2 * gap, -2 * gap)
        if self.answer:
            body, actions = rows(inner, [3, 1], gap)
            p.text(self.answer, body, theme.DANGER if self.failed else theme.INK, 0.9)
            return [Button(actions, _("OK"), self.close, "primary", name="problem-ok")]
        title, choices, actions = rows(inner, [0.8, 3, 1], gap)
        door = self.view.get("compartment", "")
        p.text(_("What is wrong with door {door}?").format(door=door), title, theme.INK, 1.0)
        cells = grid(choices, 2, -(-len(self.choices) // 2), gap)
        buttons = [
            Button(
                cell,
                _(PROBLEMS[code]),
                self._reporter(code),
                "warn",
                not self.busy,
                name=f"problem-{code}",
                size=0.8,
            )
            for cell, code in zip(cells, self.choices, strict=False)
        ]
        _spacer, cancel = cols(actions, [1, 1], gap)
        cancel_button = Button(cancel, _("Cancel"), self.close, "secondary", name="problem-cancel")
        return [*buttons, cancel_button]

    def _reporter(self, code: str) -> Callable[[], None]:
        return lambda: self.report(code)

    def report(self, code: str) -> None:
        if self.busy:
            return
        self.busy = True
        path = f"/v1/operations/{self.view['operation']}/problem"
        self.app.call("POST", path, {"reason": code}, on_done=lambda r: self._answered(code, r))

    def _answered(self, code: str, result: Message) -> None:
        self.busy = False
        if result["ok"]:
            self.answer = what_happens_next(self.app, code, str(self.view.get("compartment")))
            if self.on_reported is not None:
                self.on_reported(result["data"])
            return
        self.app.sound.error()
        self.failed = True
        if result.get("status") == 409:
            self.answer = _("This can no longer be reported here. For help: {contact}").format(
                contact=self.app.contact
            )
        else:
            self.answer = error_text(result, self.app)

    def close(self) -> None:
        self.app.show_dialog(None)

    def on_escape(self) -> None:
        self.close()


def report_button(
    app: ScreenContext, rect: Rect, view: OperationView, on_reported: Reported
) -> list[Button]:
    """ "Report a problem" for this door's operation, if there is anything to report."""
    if not problem_choices(view):
        return []

    def open_dialog() -> None:
        app.show_dialog(ProblemDialog(app, view, on_reported))

    return [Button(rect, _("Report a problem"), open_dialog, "warn", name="report", size=0.7)]
