"""The technician's grid: every compartment coloured by state, door and board health.

Tapping a compartment shows its detail and what can be done with it: open it, take it
out of service (with a reason picked from a short list) or put it back, and give the
recipient of the parcel inside more time (:data:`EXTEND_STEP_H` hours, as far as the
kiosk's ``policy.max_extend_hours`` allows). The toolbar
opens all doors (after a confirmation), runs the self-test, shows the event log and
signs out. The grid follows the daemon's event stream and re-reads
``GET /v1/compartments`` whenever a door, an event or a board changes.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any
from urllib.parse import quote

from kiosk.protocol.events import JobKind
from kiosk.protocol.states import CompartmentState, ParcelState
from kiosk.protocol.stream import StreamKind
from kiosk.protocol.views import ClockView, KioskInfo, Status, WallPlace
from kiosk.ui import theme
from kiosk.ui.i18n import N_, _
from kiosk.ui.link import Message
from kiosk.ui.screen import Screen, ScreenContext
from kiosk.ui.screens.dialogs import ConfirmDialog, OpenAllDialog
from kiosk.ui.screens.pickup import op_message
from kiosk.ui.theme import Color, Metrics
from kiosk.ui.wall import draw_doors, wall_rects
from kiosk.ui.widgets import AREA, Button, Painter, Rect, cols, grid, rows
from kiosk.ui.words import (
    EXTEND_REFUSALS,
    PICKED_REASONS,
    check_text,
    reason_text,
    tech_error_text,
)

STATE_MARKS = {
    "AVAILABLE": N_("free"),
    "RESERVED": N_("reserved"),
    "OCCUPIED": N_("in use"),
    "OUT_OF_SERVICE": N_("out of service"),
}
STATE_LINES = {
    "AVAILABLE": N_("State: free."),
    "RESERVED": N_("State: reserved for a deposit."),
    "OCCUPIED": N_("State: holds a parcel."),
    "OUT_OF_SERVICE": N_("State: out of service."),
}
DOOR_LINES = {
    "OPEN": N_("Door: open."),
    "CLOSED": N_("Door: closed."),
    "UNKNOWN": N_("Door: unknown, the sensor gives no answer."),
}
STREAM_TYPES = (StreamKind.DOOR, StreamKind.EVENT, StreamKind.BOARD, StreamKind.OPERATION)
EXTEND_STEP_H = 24.0
"""How much later one tap on "Extend hold" moves a parcel's pickup deadline."""


def health_lines(status: Status | None) -> list[str]:
    """What the technician should know of the kiosk's clock and its disk."""
    lines = []
    clock = status.get("clock") if status else None
    storage = status.get("storage") if status else None
    state = clock.get("state") if clock else None
    if state == "waiting_for_sync":
        lines.append(_("The clock is not synchronised yet: no parcel expires until it is."))
    elif clock and state == "jumped":
        step = signed_span(clock.get("jump_s") or 0)
        text = _("The clock jumped {step}: no parcel expires until the time is confirmed.")
        lines.append(text.format(step=step))
    if storage and storage.get("state") == "full":
        lines.append(_("Storage full: nothing can be stored and no door opens."))
    elif storage and storage.get("state") == "low":
        free = round((storage.get("free_bytes") or 0) / 2**20)
        lines.append(_("Storage nearly full: {free} MB free.").format(free=free))
    return lines


def signed_span(seconds: float) -> str:
    """A clock's step as a person reads it: ``+96 h``, ``-30 min``."""
    if abs(seconds) >= 3600:
        return f"{seconds / 3600:+.0f} h"
    return f"{seconds / 60:+.0f} min"


def extend_step(parcel: dict[str, Any], kiosk: KioskInfo | None) -> float:
    """The hours one tap adds: :data:`EXTEND_STEP_H`, or what is left of the limit."""
    limit = kiosk.get("max_extend_hours", 0) if kiosk else 0
    left = float(limit) - parcel["extended_hours"]
    return max(0.0, min(EXTEND_STEP_H, left))


def when(ts: float, now: float | None = None) -> str:
    """The time of an event; with its date unless it happened today."""
    local = time.localtime(ts)
    today = time.localtime(now if now is not None else time.time())
    if local[:3] == today[:3]:
        return time.strftime("%H:%M:%S", local)
    return time.strftime("%Y-%m-%d %H:%M", local)


def parcel_lines(parcel: dict[str, Any]) -> list[str]:
    """What the detail says of the parcel inside: its barcode and its pickup deadline."""
    until, hours = when(parcel["expires_at"]), f"{parcel['extended_hours']:g}"
    if parcel["state"] == ParcelState.EXPIRED:
        deadline = _("Pickup time ended {time}.").format(time=until)
    elif parcel["extended_hours"]:
        deadline = _("Pickup until {time} (+{hours} h).").format(time=until, hours=hours)
    else:
        deadline = _("Pickup until {time}.").format(time=until)
    return [_("Parcel: {barcode}").format(barcode=parcel["barcode"]), deadline]


def door_rects(area: Rect, kiosk: KioskInfo | None, m: Metrics) -> dict[str, Rect]:
    """The wall picture's doors where each is big enough to tap; otherwise an even grid
    of the same doors: one grid column per wall column where they fit, else in wall
    order (down each column, then across)."""
    gap = max(2, m.gap // 3)
    rects = wall_rects(area, kiosk, gap)
    if not rects or min(r.height for r in rects.values()) >= m.min_target:
        return rects
    assert kiosk is not None
    doors = sorted(kiosk["wall"], key=lambda d: (d["column"], d["row"]))
    n_rows = max(1, min(len(doors), (area.height + gap) // (m.min_target + gap)))
    by_column = wall_columns(doors)
    tallest, n_wall = max(len(c) for c in by_column), len(by_column)
    if tallest <= n_rows and (area.width + gap) // n_wall - gap >= m.min_target:
        cells = grid(area, n_wall, tallest, gap)
        return {d["id"]: cells[j * n_wall + i]
                for i, column in enumerate(by_column) for j, d in enumerate(column)}  # fmt: skip
    n_cols = -(-len(doors) // n_rows)
    n_rows = -(-len(doors) // n_cols)
    cells = grid(area, n_cols, n_rows, gap)
    return {d["id"]: cells[(i % n_rows) * n_cols + i // n_rows] for i, d in enumerate(doors)}


def wall_columns(doors: list[WallPlace]) -> list[list[WallPlace]]:
    """``doors`` (in wall order) grouped by their column on the wall."""
    columns: dict[int, list[WallPlace]] = {}
    for door in doors:
        columns.setdefault(door["column"], []).append(door)
    return list(columns.values())


def back_to_grid(app: ScreenContext) -> None:
    app.goto(TechnicianScreen(app))


class TechnicianScreen(Screen):
    def __init__(self, app: ScreenContext) -> None:
        super().__init__(app)
        self.compartments: dict[str, dict[str, Any]] = {}
        self.selected: str | None = None
        self.picking_reason = False
        self.busy = False
        self.note = ""
        self.loading = False
        self.stale = False
        self.refresh()
        self.app.refresh_status()  # the clock's and the disk's lines (then kept by the app)

    # -- the daemon -----------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read every compartment; calls that arrive while one is out are folded into one."""
        if self.loading:
            self.stale = True
            return
        self.loading = True
        self.app.call("GET", "/v1/compartments", on_done=self._loaded)

    def _loaded(self, result: Message) -> None:
        self.loading = False
        if result["ok"]:
            self.compartments = {c["id"]: c for c in result["data"]["compartments"]}
        if self.stale:
            self.stale = False
            self.refresh()

    def on_message(self, msg: Message) -> None:
        if msg.get("kind") == "link" and msg.get("online"):
            self.refresh()
        elif msg.get("kind") == "stream" and msg["data"].get("type") in STREAM_TYPES:
            data = msg["data"]
            if data["type"] == StreamKind.DOOR and data.get("compartment") in self.compartments:
                self.compartments[data["compartment"]]["door"] = data["door"]
            self.refresh()

    # -- drawing --------------------------------------------------------------------

    def build(self, area: Rect, p: Painter) -> list[Button]:
        m = p.metrics
        main, toolbar = rows(area, [6, 1.3], m.gap)
        split = rows(main, [1, 1], m.gap) if m.is_portrait else cols(main, [1.2, 1], m.gap)
        wall_area, panel = split
        buttons = self._grid(wall_area, p)
        p.outline(panel, theme.PANEL, 3, m.gap)
        inner = panel.inflate(-2 * m.gap, -2 * m.gap)
        if self.selected is None:
            buttons += self._summary(inner, p)
        elif self.picking_reason:
            buttons += self._reasons(inner, p)
        else:
            buttons += self._detail(inner, p)
        return buttons + self._toolbar(toolbar, m.gap)

    def _grid(self, area: Rect, p: Painter) -> list[Button]:
        rects = door_rects(area, self.app.kiosk, p.metrics)
        draw_doors(p, rects, self.app.kiosk, colorer=self._color)
        if self.selected in rects:
            p.outline(rects[self.selected].inflate(4, 4), theme.PRIMARY, 5, 4)
        return [
            Button(rect, cid, partial(self.select, cid), AREA, name=f"door-{cid}")
            for cid, rect in rects.items()
        ]

    def _color(self, door: WallPlace) -> tuple[Color, Color, str]:
        c = self.compartments.get(door["id"])
        if c is None:
            return theme.PANEL, theme.INK, door["id"]
        if not c["board_online"]:
            fill, ink, mark = theme.DISABLED, theme.DISABLED_TEXT, _("offline")
        elif c["door"] in ("OPEN", "UNKNOWN"):
            fill, ink = theme.STATE_COLORS[c["door"]]
            mark = _("open") if c["door"] == "OPEN" else _("door unknown")
        elif c.get("check"):  # handed out to nobody until a person has looked
            fill, ink, mark = theme.DANGER, theme.DANGER_TEXT, _("check")
        else:
            fill, ink = theme.STATE_COLORS[c["state"]]
            mark = _(STATE_MARKS.get(c["state"], c["state"]))
        return fill, ink, f"{door['id']}\n{mark}"

    def _summary(self, area: Rect, p: Painter) -> list[Button]:
        title, body, note = rows(area, [1, 2.5, 1.2], p.metrics.gap)
        buttons: list[Button] = []
        clock = self._clock()
        if clock and clock.get("state") in ("jumped", "waiting_for_sync"):
            note, confirm = cols(note, [1.3, 1], p.metrics.gap)
            label = _("Confirm the time")
            buttons.append(Button(confirm, label, self.confirm_time, "warn", not self.busy,
                                  "confirm-time", 0.7))  # fmt: skip
        user = self.app.session.get("user", "") if self.app.session else ""
        p.text(_("Technician: {user}").format(user=user), title, theme.INK, 1.0)
        comps = list(self.compartments.values())
        lines = [
            _("{count} free, {used} in use, {out} out of service.").format(
                count=sum(c["state"] == CompartmentState.AVAILABLE for c in comps),
                used=sum(
                    c["state"] in (CompartmentState.OCCUPIED, CompartmentState.RESERVED)
                    for c in comps
                ),
                out=sum(c["state"] == CompartmentState.OUT_OF_SERVICE for c in comps),
            ),
            _("Doors open: {count}.").format(count=sum(c["door"] == "OPEN" for c in comps)),
        ]
        checks = sum(bool(c.get("check")) for c in comps)
        if checks:
            lines.append(_("Compartments to check: {count}.").format(count=checks))
        for board in sorted({c["board"] for c in comps if not c["board_online"]}):
            lines.append(_("Board {board} is offline.").format(board=board))
        lines += health_lines(self.app.status)
        p.text("\n".join(lines), body, theme.INK, 0.75)
        p.text(self.note or _("Tap a compartment to see it and act on it."), note, theme.INK, 0.7)
        return buttons

    def _clock(self) -> ClockView | None:
        return self.app.status.get("clock") if self.app.status else None

    def _detail(self, area: Rect, p: Painter) -> list[Button]:
        assert self.selected is not None
        cid, gap = self.selected, p.metrics.gap
        c = self.compartments.get(cid, {})
        # two rows of buttons, each a comfortable touch target, under the text
        action_h = 2 * round(p.metrics.min_target * 1.15) + gap
        text_area = Rect(area.left, area.top, area.width, area.height - action_h - gap)
        actions = Rect(area.left, area.bottom - action_h, area.width, action_h)
        title, body = rows(text_area, [0.9, 3], gap)
        p.text(_("Compartment {door}").format(door=cid), title, theme.INK, 1.0)
        # the note under the lines, in one block: a long reason may take its room
        note = _("Working on it…") if self.busy else self.note
        p.text("\n".join([*self._lines(c), *([note] if note else [])]), body, theme.INK, 0.7)
        top, bottom = rows(actions, [1, 1], gap)
        left, right = cols(top, [1, 1], gap)
        out = c.get("state") == CompartmentState.OUT_OF_SERVICE
        can_act = bool(c) and not self.busy
        if out:
            service = Button(right, _("Back in service"), self.in_service, "ok", name="in-service")
        else:
            service = Button(
                right, _("Out of service"), self.pick_reason, "warn", name="out-of-service"
            )
        service.enabled, service.size = can_act, 0.8
        buttons = [Button(left, _("Open"), self.open, "primary", can_act, "open", 0.8), service]
        if c.get("parcel"):
            extend_area, bottom = cols(bottom, [1, 1], gap)
            buttons.append(self._extend_button(extend_area, c["parcel"], can_act))
        if c.get("check"):
            clear_area, bottom = cols(bottom, [1.4, 1], gap)
            buttons.append(Button(clear_area, _("Checked: clear"), self.clear_check, "ok", can_act,
                                  "clear-check", 0.8))  # fmt: skip
        back = Button(bottom, _("Back"), self.deselect, "secondary", name="back", size=0.8)
        return [*buttons, back]

    def _extend_button(self, area: Rect, parcel: dict[str, Any], can_act: bool) -> Button:
        step = extend_step(parcel, self.app.kiosk)
        label = _("Extend hold +{hours} h").format(hours=f"{step or EXTEND_STEP_H:g}")
        action = partial(self.extend, parcel["barcode"], step)
        return Button(area, label, action, "primary", can_act and step > 0, "extend", 0.8)

    def _lines(self, c: dict[str, Any]) -> list[str]:
        if not c:
            return [_("Loading…")]
        state, door = STATE_LINES.get(c["state"], c["state"]), DOOR_LINES[c["door"]]
        # "holds a parcel" goes without saying above the parcel's own lines
        lines = (
            [_(door)]
            if c.get("parcel") and c["state"] == CompartmentState.OCCUPIED
            else [_(state), _(door)]
        )
        if c.get("reason"):
            lines.append(_("Reason: {reason}").format(reason=reason_text(c)))
        if c.get("check"):
            lines.append(_("Needs a check: {why}").format(why=check_text(c["check"])))
        if not c["board_online"]:
            lines.append(_("Its board {board} is offline.").format(board=c["board"]))
        if c.get("parcel"):
            lines += parcel_lines(c["parcel"])
        return lines

    def _reasons(self, area: Rect, p: Painter) -> list[Button]:
        title, choices = rows(area, [1, 3.5], p.metrics.gap)
        p.text(
            _("Why is {door} out of service?").format(door=self.selected), title, theme.INK, 0.85
        )
        cells = grid(choices, 2, 3, p.metrics.gap)
        buttons = [
            Button(
                cell,
                _(reason),
                partial(self.out_of_service, reason),
                "key",
                name=f"reason-{i}",
                size=0.7,
            )
            for i, (cell, reason) in enumerate(zip(cells, PICKED_REASONS, strict=False))
        ]
        cancel = Button(
            cells[-1], _("Cancel"), self.cancel_reason, "secondary", name="cancel", size=0.7
        )
        return [*buttons, cancel]

    def _toolbar(self, area: Rect, gap: int) -> list[Button]:
        a, b, c, d = cols(area, [1, 1, 1, 1], gap)
        return [
            Button(a, _("Open all"), self.confirm_open_all, "danger", name="open-all", size=0.8),
            Button(b, _("Self-test"), self.selftest, "primary", name="selftest", size=0.8),
            Button(c, _("Event log"), self.event_log, "secondary", name="event-log", size=0.8),
            Button(
                d, _("Sign out"), lambda: self.app.home(), "secondary", name="sign-out", size=0.8
            ),
        ]

    # -- one compartment ------------------------------------------------------------

    def select(self, cid: str) -> None:
        self.selected = None if self.selected == cid else cid
        self.picking_reason = False
        self.note = ""

    def deselect(self) -> None:
        self.selected = None
        self.picking_reason = False
        self.note = ""

    def pick_reason(self) -> None:
        self.picking_reason = True

    def cancel_reason(self) -> None:
        self.picking_reason = False

    def open(self) -> None:
        self._post("open", None, self._opened)

    def out_of_service(self, reason: str) -> None:
        self.picking_reason = False
        self._post("out-of-service", {"reason": reason}, self._changed)

    def in_service(self) -> None:
        self._post("in-service", None, self._changed)

    def clear_check(self) -> None:
        """The technician has looked inside: the compartment may be handed out again."""
        self._post("clear-check", None, self._cleared)

    def _cleared(self, cid: str, result: Message) -> None:
        self.busy = False
        if result["ok"]:
            self.compartments.get(cid, {}).update(result["data"])
            self.note = _("{door} is checked and may be used again.").format(door=cid)
        elif (result.get("details") or {}).get("reason") == "item_inside":
            self.note = _("The sensor still sees something in {door}: open it, take it out, "
                          "close it, then clear the check.").format(door=cid)  # fmt: skip
        else:
            self.note = tech_error_text(result, self.app)
        self.refresh()

    def extend(self, barcode: str, hours: float) -> None:
        if self.selected is None or self.busy:
            return
        self.busy = True
        self.note = ""
        path = f"/v1/parcels/{quote(barcode, safe='')}/extend"
        self.app.call("POST", path, {"hours": hours}, on_done=self._extended)

    def _extended(self, result: Message) -> None:
        self.busy = False
        if result["ok"]:
            until = when(result["data"]["expires_at"])
            self.note = _("Hold extended: pickup until {time}.").format(time=until)
        else:
            reason = (result.get("details") or {}).get("reason")
            refusal = EXTEND_REFUSALS.get(reason or "")
            self.note = _(refusal) if refusal else tech_error_text(result, self.app)
        self.refresh()

    def _post(self, action: str, body: dict[str, Any] | None, done: Any) -> None:
        if self.selected is None or self.busy:
            return
        self.busy = True
        self.note = ""
        cid = self.selected
        self.app.call(
            "POST", f"/v1/compartments/{cid}/{action}", body, on_done=lambda r: done(cid, r)
        )

    def _opened(self, cid: str, result: Message) -> None:
        self.busy = False
        self.note = (
            op_message(result["data"]) if result["ok"] else tech_error_text(result, self.app)
        )
        self.refresh()

    def _changed(self, cid: str, result: Message) -> None:
        self.busy = False
        if not result["ok"]:
            self.note = tech_error_text(result, self.app)
            self.refresh()
            return
        if cid in self.compartments:  # shown at once; the refresh brings the rest
            self.compartments[cid].update(result["data"])
        if result["data"]["state"] == CompartmentState.OUT_OF_SERVICE:
            self.note = _("{door} is out of service.").format(door=cid)
        else:
            self.note = _("{door} is back in service.").format(door=cid)
        self.refresh()

    def on_escape(self) -> None:
        if self.picking_reason:
            self.cancel_reason()
        elif self.selected is not None:
            self.deselect()
        else:
            self.app.home()

    # -- the toolbar ----------------------------------------------------------------

    @property
    def holding(self) -> int:
        """How many compartments hold a parcel (open-all and the self-test skip them)."""
        return sum(bool(c.get("parcel")) for c in self.compartments.values())

    def confirm_open_all(self) -> None:
        count = len(self.app.kiosk.get("wall", [])) if self.app.kiosk else 0
        self.app.show_dialog(OpenAllDialog(self.app, count, self.holding, self.open_all))

    def open_all(self, include_parcels: bool = False) -> None:
        self.app.to_job(
            JobKind.OPEN_ALL, start=True, holding=self.holding, include_parcels=include_parcels
        )

    def selftest(self) -> None:
        self.app.to_job(JobKind.SELF_TEST, holding=self.holding)

    def confirm_time(self) -> None:
        """After a jump (or before the first synchronisation): the technician checks the
        time shown against their own and confirms it."""
        clock = self._clock()
        wall = (clock.get("wall_time") if clock else None) or time.time()
        shown = time.strftime("%Y-%m-%d %H:%M", time.localtime(wall))
        question = _("Is it {time} now? Parcels then expire by this clock.").format(time=shown)
        self.app.show_dialog(ConfirmDialog(self.app, question, _("The time is right"),
                                           self._confirm_time))  # fmt: skip

    def _confirm_time(self) -> None:
        self.busy = True
        self.app.call("POST", "/v1/clock/confirm", on_done=self._time_confirmed)

    def _time_confirmed(self, result: Message) -> None:
        self.busy = False
        if result["ok"]:
            self.note = _("The time is confirmed: parcels expire by this clock again.")
        else:
            self.note = tech_error_text(result, self.app)
        self.app.refresh_status()

    def event_log(self) -> None:
        self.app.to_event_log()
