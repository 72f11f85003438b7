"""Dialogs drawn over a screen: "Need more time?", a confirmation, a message."""

from __future__ import annotations

from collections.abc import Callable

from kiosk.ui import i18n, theme
from kiosk.ui.i18n import _
from kiosk.ui.screen import Screen, ScreenContext
from kiosk.ui.widgets import Button, Painter, Rect, cols, rows


class MoreTimeDialog(Screen):
    """Asked after the idle time; at zero the person is signed out and sent home."""

    idle_timeout = False

    def __init__(self, app: ScreenContext, seconds: float) -> None:
        super().__init__(app)
        self.deadline = app.clock() + seconds

    def remaining(self) -> int:
        return max(0, int(self.deadline - self.app.clock() + 0.999))

    def build(self, area: Rect, p: Painter) -> list[Button]:
        p.fill(area, theme.PAPER, p.metrics.gap)
        title, body, actions = rows(
            area.inflate(-2 * p.metrics.gap, -2 * p.metrics.gap), [1.2, 1, 1.5], p.metrics.gap
        )
        p.text(_("Need more time?"), title, theme.INK, 1.4)
        p.text(
            _("Returning to the start in {seconds} s.").format(seconds=self.remaining()),
            body,
            theme.INK,
        )
        yes, no = cols(actions, [1, 1], p.metrics.gap)
        return [
            Button(yes, _("Yes, more time"), self.more_time, "primary", name="more-time"),
            Button(no, _("No, finish"), self.finish, "secondary", name="finish"),
        ]

    def more_time(self) -> None:
        self.app.last_input = self.app.clock()
        self.app.show_dialog(None)

    def on_escape(self) -> None:
        self.more_time()

    def next_timer(self) -> float | None:
        return min(self.deadline, self.app.clock() + 1.0)

    def finish(self) -> None:
        self.app.home(timed_out=True)

    def on_timer(self) -> None:
        if self.app.clock() >= self.deadline:
            self.finish()


class ConfirmDialog(Screen):
    def __init__(
        self, app: ScreenContext, question: str, yes_label: str, on_yes: Callable[[], None]
    ) -> None:
        super().__init__(app)
        self.question = question
        self.yes_label = yes_label
        self.on_yes = on_yes

    def build(self, area: Rect, p: Painter) -> list[Button]:
        p.fill(area, theme.PAPER, p.metrics.gap)
        body, actions = rows(
            area.inflate(-2 * p.metrics.gap, -2 * p.metrics.gap), [2, 1], p.metrics.gap
        )
        p.text(self.question, body, theme.INK, 1.1)
        yes, no = cols(actions, [1, 1], p.metrics.gap)
        return [
            Button(yes, self.yes_label, self._yes, "danger", name="confirm"),
            Button(no, _("Cancel"), lambda: self.app.show_dialog(None), "secondary", name="cancel"),
        ]

    def _yes(self) -> None:
        self.app.show_dialog(None)
        self.on_yes()

    def on_escape(self) -> None:
        self.app.show_dialog(None)


def skip_line(holding: int, include: bool) -> str:
    """What a job does with the doors that hold parcels, before it starts."""
    if not holding:
        return ""
    if include:
        return i18n.ngettext(
            "The {count} door with a parcel opens too.",
            "The {count} doors with parcels open too.",
            holding,
        ).format(count=holding)
    return i18n.ngettext(
        "{count} door holds a parcel and is skipped.",
        "{count} doors hold parcels and are skipped.",
        holding,
    ).format(count=holding)


def include_button(rect: Rect, on: bool, toggle: Callable[[], None]) -> Button:
    """The toggle that has a job open the doors that hold parcels as well."""
    label, state = _("Include doors with parcels"), _("On") if on else _("Off")
    style = "warn" if on else "key"
    return Button(rect, label, toggle, style, name="include-parcels", size=0.75, sublabel=state)


class OpenAllDialog(Screen):
    """Open all doors? With how many hold parcels and are skipped, and a toggle to
    include them."""

    def __init__(
        self, app: ScreenContext, count: int, holding: int, on_yes: Callable[[bool], None]
    ) -> None:
        super().__init__(app)
        self.count, self.holding, self.on_yes = count, holding, on_yes
        self.include = False

    def build(self, area: Rect, p: Painter) -> list[Button]:
        gap = p.metrics.gap
        p.fill(area, theme.PAPER, gap)
        inner = area.inflate(-2 * gap, -2 * gap)
        question, note, actions = rows(inner, [1.3, 0.9, 1], gap)
        opened = self.count if self.include else self.count - self.holding
        if opened == self.count:
            ask = _("Open all {count} doors, one after another?").format(count=opened)
        else:
            ask = i18n.ngettext(
                "Open {count} door, one after another?",
                "Open {count} doors, one after another?",
                opened,
            ).format(count=opened)
        p.text(ask, question, theme.INK, 1.1)
        p.text(skip_line(self.holding, self.include), note, theme.INK, 0.8)
        if self.holding:
            toggle, yes, no = cols(actions, [1.3, 1, 1], gap)
        else:
            toggle, (yes, no) = None, cols(actions, [1, 1], gap)
        buttons = [
            Button(yes, _("Open all doors"), self._yes, "danger", opened > 0, "confirm"),
            Button(no, _("Cancel"), lambda: self.app.show_dialog(None), "secondary", name="cancel"),
        ]
        if toggle is not None:
            buttons.append(include_button(toggle, self.include, self.toggle))
        return buttons

    def toggle(self) -> None:
        self.include = not self.include

    def _yes(self) -> None:
        self.app.show_dialog(None)
        self.on_yes(self.include)

    def on_escape(self) -> None:
        self.app.show_dialog(None)
