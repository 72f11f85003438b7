"""Dialogs drawn over a screen: "Need more time?", a confirmation, a message."""

from __future__ import annotations

from collections.abc import Callable

from kiosk.ui import theme
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
