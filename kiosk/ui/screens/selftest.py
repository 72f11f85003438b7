"""The self-test and open-all: a job of the daemon, followed to its end.

The self-test starts from a setup page (with the toggle "take failed compartments out of
service"); open-all starts at once, after the grid's confirmation. While the job runs, a
progress bar ("12 of 16") follows ``GET /v1/jobs/{id}``, asked again on each ``job``
message of the event stream and once a second in case one was missed. At the end, a
grid shows each compartment passed or failed, and the failures with their detail.
"""

from __future__ import annotations

from typing import Any

from kiosk.protocol.events import JobKind
from kiosk.protocol.stream import StreamKind
from kiosk.protocol.views import WallPlace
from kiosk.ui import i18n, theme
from kiosk.ui.i18n import _
from kiosk.ui.link import Message
from kiosk.ui.screen import Screen, ScreenContext
from kiosk.ui.screens.dialogs import include_button, skip_line
from kiosk.ui.screens.technician import back_to_grid, door_rects
from kiosk.ui.theme import Color
from kiosk.ui.wall import draw_doors
from kiosk.ui.widgets import Button, Painter, Rect, cols, rows
from kiosk.ui.words import result_text, tech_error_text

POLL_S = 1.0
PATHS = {JobKind.SELF_TEST: "/v1/selftest", JobKind.OPEN_ALL: "/v1/compartments/open-all"}


class JobScreen(Screen):
    def __init__(self, app: ScreenContext, kind: JobKind, holding: int = 0) -> None:
        super().__init__(app)
        self.kind = kind  # SELF_TEST or OPEN_ALL
        self.holding = holding  # compartments with a parcel, skipped unless included
        self.include_parcels = False
        self.take_out_of_service = False
        self.starting = False
        self.job: dict[str, Any] | None = None
        self.note = ""
        self.loading = False
        self.stale = False
        self.next_poll: float | None = None

    @property
    def running(self) -> bool:
        return self.starting or (self.job is not None and self.job["state"] == "running")

    @property
    def idle_timeout(self) -> bool:  # type: ignore[override]
        return not self.running  # never hurry someone while doors are being opened

    # -- the daemon -----------------------------------------------------------------

    def start(self) -> None:
        if self.running:
            return
        self.starting = True
        self.note = ""
        body: dict[str, Any] = {"include_parcels": self.include_parcels}
        if self.kind == JobKind.SELF_TEST:
            body["take_out_of_service"] = self.take_out_of_service
        self.app.call("POST", PATHS[self.kind], body, on_done=self._started)

    def _started(self, result: Message) -> None:
        self.starting = False
        if not result["ok"]:
            conflict = _("Another open-all or self-test is still running.")
            self.note = tech_error_text(result, self.app, conflict)
            return
        self.job = result["data"]
        self.next_poll = self.app.clock() + POLL_S

    def poll(self) -> None:
        """Ask for the job; a call asked for while one is out is folded into one."""
        if self.job is None:
            return
        self.next_poll = self.app.clock() + POLL_S
        if self.loading:  # asked again once the answer is in; until then, sleep
            self.stale = True
            return
        self.loading = True
        self.app.call("GET", f"/v1/jobs/{self.job['id']}", on_done=self._polled)

    def _polled(self, result: Message) -> None:
        self.loading = False
        if result["ok"]:
            self.job = result["data"]
            if not self.running:  # the idle time-out counts from the end of the job
                self.app.last_input = self.app.clock()
        elif self.job is not None and result.get("status") == 404:
            self.job = {**self.job, "state": "lost"}
            self.note = _("The job was lost: the kiosk restarted.")
        if self.stale and self.running:
            self.stale = False
            self.poll()

    def on_message(self, msg: Message) -> None:
        if self.job is None or not self.running:
            return
        if msg.get("kind") == "link" and msg.get("online"):
            self.poll()
        elif msg.get("kind") == "stream":
            data = msg["data"]
            if data.get("type") == StreamKind.JOB and data.get("id") == self.job["id"]:
                self.poll()

    def next_timer(self) -> float | None:
        return self.next_poll if self.running and self.job is not None else None

    def on_timer(self) -> None:
        if self.next_poll is not None and self.app.clock() >= self.next_poll:
            self.poll()

    # -- drawing --------------------------------------------------------------------

    @property
    def title(self) -> str:
        if self.kind == JobKind.OPEN_ALL:
            return _("Opening all doors, one after another.")
        return _("Self-test of every lock and door sensor.")

    def build(self, area: Rect, p: Painter) -> list[Button]:
        if self.job is None:
            return self._setup(area, p)
        m = p.metrics
        title, bar, main, actions = rows(area, [0.9, 0.8, 5, 1.3], m.gap)
        p.text(self._headline(), title, theme.INK, 0.9)
        self._progress(bar, p)
        grid_area, failures = (rows if m.is_portrait else cols)(main, [1.2, 1], m.gap)
        draw_doors(p, door_rects(grid_area, self.app.kiosk, m), self.app.kiosk, colorer=self._color)
        self._failures(failures, p)
        return [
            Button(
                actions,
                _("Back"),
                lambda: back_to_grid(self.app),
                "secondary",
                not self.running,
                "back",
            )
        ]

    def _setup(self, area: Rect, p: Painter) -> list[Button]:
        gap = p.metrics.gap
        title, text, toggles, note, actions = rows(area, [1, 1.3, 1.4, 0.8, 1.3], gap)
        toggle, include = cols(toggles, [1, 1], gap) if self.holding else (toggles, None)
        p.text(self.title, title, theme.INK, 1.1)
        skipped = skip_line(self.holding, self.include_parcels)
        p.text(" ".join(filter(None, [self._explanation(), skipped])), text, theme.INK, 0.75)
        if self.starting:
            p.text(_("Starting…"), note, theme.INK, 0.75)
        elif self.note:
            p.text(self.note, note, theme.DANGER, 0.75)
        back, start = cols(actions, [1, 1.4], gap)
        buttons = [
            Button(back, _("Back"), lambda: back_to_grid(self.app), "secondary", name="back"),
            Button(
                start,
                _("Start the self-test") if self.kind == JobKind.SELF_TEST else _("Open all doors"),
                self.start,
                "primary",
                not self.starting,
                "start",
                0.9,
            ),
        ]
        if self.kind == JobKind.SELF_TEST:
            on = self.take_out_of_service
            buttons.append(
                Button(
                    toggle,
                    _("Take failed compartments out of service"),
                    self.toggle,
                    "ok" if on else "key",
                    name="take-out-of-service",
                    size=0.8,
                    sublabel=_("On") if on else _("Off"),
                )
            )
        if include is not None:
            buttons.append(include_button(include, self.include_parcels, self.toggle_parcels))
        return buttons

    def toggle_parcels(self) -> None:
        self.include_parcels = not self.include_parcels

    def _explanation(self) -> str:
        if self.kind == JobKind.OPEN_ALL:
            return _("Every door opens, one after another. Close them when you are done.")
        return _(
            "Each door opens in turn; close it again and the next one follows. "
            "A door that does not open or does not close fails the test."
        )

    def toggle(self) -> None:
        self.take_out_of_service = not self.take_out_of_service

    def _headline(self) -> str:
        job = self.job or {}
        if self.note:
            return self.note
        if self.running:
            return self.title
        failed = sum(not r["ok"] for r in job.get("results", []))
        passed = len(job.get("results", [])) - failed
        if self.kind == JobKind.OPEN_ALL:
            done = _("All doors done: {opened} opened, {failed} did not open.").format(
                opened=passed, failed=failed
            )
        else:
            done = _("Self-test finished: {passed} passed, {failed} failed.").format(
                passed=passed, failed=failed
            )
        skipped = len(job.get("skipped") or [])
        if skipped:
            done += " " + i18n.ngettext(
                "{count} door with a parcel was skipped.",
                "{count} doors with parcels were skipped.",
                skipped,
            ).format(count=skipped)
        return done

    def _progress(self, area: Rect, p: Painter) -> None:
        job = self.job or {}
        done, total = int(job.get("done", 0)), max(1, int(job.get("total", 1)))
        bar, label = cols(area, [3, 1], p.metrics.gap)
        p.fill(bar, theme.PANEL, p.metrics.gap)
        filled = bar.copy()
        filled.width = round(bar.width * min(done, total) / total)
        if filled.width:
            p.fill(filled, theme.PRIMARY, p.metrics.gap)
        p.outline(bar, theme.SECONDARY, 1, p.metrics.gap)
        p.text(_("{done} of {total}").format(done=done, total=total), label, theme.INK, 0.8)

    def _results(self) -> dict[str, dict[str, Any]]:
        return {r["compartment"]: r for r in (self.job or {}).get("results", [])}

    def _color(self, door: WallPlace) -> tuple[Color, Color, str]:
        result = self._results().get(door["id"])
        if result is None:
            return theme.PANEL, theme.INK, door["id"]
        if result["ok"]:
            mark = _("opened") if self.kind == "open-all" else _("passed")
            return theme.OK, theme.OK_TEXT, f"{door['id']}\n{mark}"
        mark = _("did not open") if self.kind == "open-all" else _("failed")
        return theme.DANGER, theme.DANGER_TEXT, f"{door['id']}\n{mark}"

    def _failures(self, area: Rect, p: Painter) -> None:
        failed = [r for r in (self.job or {}).get("results", []) if not r["ok"]]
        if not failed:
            if not self.running:
                p.text(_("Every compartment passed."), area, theme.INK, 0.8)
            return
        line_h = p.font(0.7).get_linesize() * 2
        fit = max(1, area.height // line_h)
        shown = failed if len(failed) <= fit else failed[: fit - 1]
        lines = [
            _("{door}: {detail}").format(door=r["compartment"], detail=result_text(r))
            for r in shown
        ]
        if len(shown) < len(failed):
            lines.append(_("… and {count} more.").format(count=len(failed) - len(shown)))
        y = area.top
        for line in lines:
            used = p.text(line, Rect(area.left, y, area.width, line_h), theme.DANGER, 0.7, "left")
            y += max(used, line_h // 2)

    def on_escape(self) -> None:
        if not self.running:
            back_to_grid(self.app)
