"""The courier's menu after sign-in: deposit parcels, collect returns, sign out.

A scan on the menu is taken as a parcel barcode and starts a deposit with it.
"""

from __future__ import annotations

from typing import Any

from kiosk.protocol.states import ParcelState
from kiosk.protocol.stream import StreamKind
from kiosk.ui import i18n, theme
from kiosk.ui.i18n import _
from kiosk.ui.link import Message
from kiosk.ui.screen import Screen, ScreenContext
from kiosk.ui.widgets import Button, Painter, Rect, cols, rows
from kiosk.ui.words import SIGNED_OUT


def is_session_lost(result: Message) -> bool:
    return not result["ok"] and result.get("status") == 401


def session_lost(app: ScreenContext) -> None:
    """The daemon no longer knows this session (expired, or the daemon restarted)."""
    app.session = None
    app.to_sign_in(_(SIGNED_OUT))


def user_name(app: ScreenContext) -> str:
    return str(app.session.get("user", "")) if app.session else ""


class CourierMenuScreen(Screen):
    def __init__(self, app: ScreenContext) -> None:
        super().__init__(app)
        self.expired: int | None = None
        self.loading = False
        self.stale = False  # something changed while a count was on its way
        self._load()

    def _load(self) -> None:
        if self.loading:
            self.stale = True
            return
        self.loading = True
        self.stale = False
        self.app.call("GET", "/v1/status", on_done=self._loaded)

    def _loaded(self, result: Message) -> None:
        self.loading = False
        if result["ok"]:
            self.app.status = result["data"]
            self.expired = int(result["data"].get("parcels", {}).get(ParcelState.EXPIRED, 0))
        if self.stale:
            self._load()

    def on_message(self, msg: Message) -> None:
        data: dict[str, Any] = msg.get("data") or {}
        # The number of expired parcels changes when one expires or a door closes.
        changed = data.get("kind") == "parcel_expired" or data.get("type") == StreamKind.OPERATION
        back_online = msg.get("kind") == "link" and bool(msg.get("online"))
        if (msg.get("kind") == "stream" and changed) or back_online:
            self._load()

    def build(self, area: Rect, p: Painter) -> list[Button]:
        m = p.metrics
        title, main, footer = rows(area, [0.8, 4, 1.1], m.gap)
        p.text(_("Signed in as {name}").format(name=user_name(self.app)), title, theme.INK, 1.0)
        deposit, returns = (rows if m.is_portrait else cols)(main, [1.4, 1], m.gap)
        _spacer, sign_out = cols(footer, [2, 1], m.gap)
        return [
            Button(
                deposit,
                _("Deposit parcels"),
                self.deposit,
                "primary",
                name="deposit",
                size=1.4,
                sublabel=_("Scan a parcel or type its barcode"),
            ),
            Button(
                returns,
                _("Collect returns"),
                self.collect_returns,
                "secondary",
                name="returns",
                size=1.1,
                sublabel=self._returns_note(),
            ),
            Button(sign_out, _("Sign out"), lambda: self.app.home(), "key", name="sign-out"),
        ]

    def _returns_note(self) -> str:
        if self.expired is None:
            return _("Counting expired parcels…")
        if self.expired == 0:
            return _("No expired parcels")
        return i18n.ngettext(
            "{count} expired parcel to collect", "{count} expired parcels to collect", self.expired
        ).format(count=self.expired)

    def deposit(self, barcode: str | None = None) -> None:
        self.app.to_parcel(barcode)

    def collect_returns(self) -> None:
        self.app.to_returns()

    def on_scan(self, text: str) -> bool:
        """A parcel shown to the scanner starts its deposit."""
        self.deposit(text)
        return True
