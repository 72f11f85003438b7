"""A numeric keypad with large keys, shared by the code, PIN and phone screens."""

from __future__ import annotations

from collections.abc import Callable

from kiosk.ui.i18n import _
from kiosk.ui.widgets import Button, Rect, grid

KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "C", "0", "<"]


def keypad(
    area: Rect,
    gap: int,
    on_digit: Callable[[str], None],
    on_clear: Callable[[], None],
    on_back: Callable[[], None],
    extra: tuple[str, Callable[[], None]] | None = None,
    enabled: bool = True,
) -> list[Button]:
    """3 × 4 keys: digits, clear, backspace (and ``extra`` in place of clear); greyed
    and deaf with ``enabled`` False (a lockout)."""
    buttons = []
    for rect, key in zip(grid(area, 3, 4, gap), KEYS, strict=True):
        if key == "C":
            if extra is not None:
                buttons.append(Button(rect, extra[0], extra[1], "key", enabled, name="key-extra"))
            else:
                buttons.append(Button(rect, _("Clear"), on_clear, "key", enabled, "key-clear", 0.8))
        elif key == "<":
            buttons.append(Button(rect, _("Delete"), on_back, "key", enabled, "key-back", 0.8))
        else:
            buttons.append(
                Button(rect, key, _digit(on_digit, key), "key", enabled, f"key-{key}", 1.4)
            )
    return buttons


def _digit(on_digit: Callable[[str], None], key: str) -> Callable[[], None]:
    return lambda: on_digit(key)
