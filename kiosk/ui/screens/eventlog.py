"""The event log, newest first: time, severity, kind, door and who, a page at a time.

"Newer" and "Older" page through it, and a finger dragged up or down scrolls it. Events
are loaded in batches of :data:`BATCH`: the newest with ``newest_first``, older ones by
sequence number (the log's numbers run without gaps, so the batch before ``seq`` starts
after ``seq - BATCH - 1``). New events from the stream join the top while the newest
page is on show.
"""

from __future__ import annotations

from typing import Any

from kiosk.protocol.stream import StreamKind
from kiosk.ui import theme
from kiosk.ui.event_names import event_name
from kiosk.ui.i18n import N_, _
from kiosk.ui.link import Message
from kiosk.ui.screen import Screen, ScreenContext
from kiosk.ui.screens.technician import back_to_grid, when
from kiosk.ui.theme import Color
from kiosk.ui.widgets import Button, Painter, Rect, cols, rows

BATCH = 50
COLUMNS = [2.0, 1.3, 3.2, 0.9, 1.4]  # time, severity, kind, door, who
SEVERITIES = {"info": N_("Info"), "warning": N_("Warning"), "alarm": N_("Alarm")}
SEVERITY_COLORS: dict[str, tuple[Color, Color]] = {
    "warning": (theme.WARN, theme.WARN_TEXT),
    "alarm": (theme.DANGER, theme.DANGER_TEXT),
}


class EventLogScreen(Screen):
    def __init__(self, app: ScreenContext) -> None:
        super().__init__(app)
        self.events: list[dict[str, Any]] = []  # newest first
        self.top = 0  # index of the first row on show
        self.page = 8  # rows on show; measured on every frame
        self.row_h = 30
        self.has_older = False
        self.loading = False
        self.drag = 0.0
        self.note = ""
        self.load_newest()

    # -- the daemon -----------------------------------------------------------------

    def load_newest(self) -> None:
        self.loading = True
        params = {"limit": BATCH, "newest_first": True}
        self.app.call("GET", "/v1/events", params=params, on_done=self._newest)

    def _newest(self, result: Message) -> None:
        self.loading = False
        if not result["ok"]:
            self.note = _("The event log cannot be read right now.")
            return
        self.note = ""
        self.events = result["data"]["events"]
        self.top = 0
        self.has_older = bool(self.events) and self.events[-1]["seq"] > 1

    def load_older(self) -> None:
        if self.loading or not self.has_older:
            return
        oldest = self.events[-1]["seq"]
        after = max(0, oldest - 1 - BATCH)
        self.loading = True
        params = {"after": after, "limit": oldest - 1 - after}
        self.app.call("GET", "/v1/events", params=params, on_done=self._older)

    def _older(self, result: Message) -> None:
        self.loading = False
        if not result["ok"]:
            self.note = _("The event log cannot be read right now.")
            return
        oldest = self.events[-1]["seq"] if self.events else 0
        batch = [e for e in reversed(result["data"]["events"]) if e["seq"] < oldest]
        self.events += batch
        self.has_older = bool(batch) and batch[-1]["seq"] > 1
        self._clamp()

    def on_message(self, msg: Message) -> None:
        if msg.get("kind") == "link" and msg.get("online"):
            self.load_newest()
        elif (
            msg.get("kind") == "stream"
            and msg["data"].get("type") == StreamKind.EVENT
            and self.top == 0
        ):
            event = {k: v for k, v in msg["data"].items() if k != "type"}
            if not self.events or event["seq"] > self.events[0]["seq"]:
                self.events.insert(0, event)

    # -- scrolling ------------------------------------------------------------------

    def newer(self) -> None:
        if self.top == 0:
            self.load_newest()
        self.top = max(0, self.top - self.page)

    def older(self) -> None:
        self.top += self.page
        self._clamp()

    def _clamp(self) -> None:
        if self.top + self.page >= len(self.events):
            self.load_older()
        self.top = max(0, min(self.top, len(self.events) - self.page))

    def on_drag(self, dy: int) -> None:
        """A finger moving up brings older rows up from below."""
        self.drag += dy
        steps = int(self.drag / self.row_h)
        if steps:
            self.drag -= steps * self.row_h
            self.top -= steps
            self._clamp()

    def on_escape(self) -> None:
        back_to_grid(self.app)

    # -- drawing --------------------------------------------------------------------

    def build(self, area: Rect, p: Painter) -> list[Button]:
        m = p.metrics
        title, table, actions = rows(area, [0.8, 5.5, 1.3], m.gap)
        p.text(_("Event log, newest first"), title, theme.INK, 0.9)
        self.row_h = p.font(0.65).get_linesize() + m.gap // 2
        header = Rect(table.left, table.top, table.width, self.row_h)
        body = Rect(table.left, header.bottom, table.width, table.height - self.row_h)
        self.page = max(1, body.height // self.row_h)
        self._header(header, p)
        self._rows(body, p)
        newer, older, back = cols(actions, [1, 1, 1], m.gap)
        last = len(self.events) - 1
        return [
            Button(newer, _("Newer"), self.newer, "key", name="newer", size=0.8),
            Button(
                older,
                _("Older"),
                self.older,
                "key",
                self.top + self.page <= last or self.has_older,
                "older",
                0.8,
            ),
            Button(back, _("Back"), lambda: back_to_grid(self.app), "secondary", name="back"),
        ]

    def _header(self, rect: Rect, p: Painter) -> None:
        p.fill(rect, theme.PANEL)
        labels = [_("Time"), _("Severity"), _("Event"), _("Door"), _("Who")]
        for cell, label in zip(cols(rect, COLUMNS, p.metrics.gap), labels, strict=True):
            p.text(fit(p, label, cell.width), cell, theme.INK, 0.65, "left")

    def _rows(self, area: Rect, p: Painter) -> None:
        if not self.events:
            text = self.note or (_("Loading…") if self.loading else _("No events yet."))
            p.text(text, area, theme.INK, 0.8)
            return
        y = area.top
        for event in self.events[self.top : self.top + self.page]:
            self._row(Rect(area.left, y, area.width, self.row_h), event, p)
            y += self.row_h
        if self.note:
            p.text(self.note, Rect(area.left, y, area.width, area.bottom - y), theme.DANGER, 0.7)

    def _row(self, rect: Rect, event: dict[str, Any], p: Painter) -> None:
        cells = cols(rect, COLUMNS, p.metrics.gap)
        severity = event["severity"]
        texts = [
            when(event["ts"]),
            _(SEVERITIES[severity]) if severity in SEVERITIES else severity,
            event_name(event["kind"]),
            event.get("compartment") or "–",
            event.get("actor") or "–",
        ]
        for i, (cell, text) in enumerate(zip(cells, texts, strict=True)):
            ink = theme.INK
            if i == 1 and severity in SEVERITY_COLORS:
                fill, ink = SEVERITY_COLORS[severity]
                p.fill(cell.inflate(0, -2), fill, 3)
            p.text(fit(p, text, cell.width - 4), cell.move(2, 0), ink, 0.65, "left")
        p.fill(Rect(rect.left, rect.bottom - 1, rect.width, 1), theme.PANEL)


def fit(p: Painter, text: str, width: int, size: float = 0.65) -> str:
    """``text`` cut to ``width`` pixels, ending in "…" where it was cut."""
    font = p.font(size)
    if font.size(text)[0] <= width:
        return text
    while text and font.size(text + "…")[0] > width:
        text = text[:-1]
    return text + "…"


def is_event(data: dict[str, Any]) -> bool:
    """Whether a message of the stream is an event of the log."""
    return data.get("type") == StreamKind.EVENT
