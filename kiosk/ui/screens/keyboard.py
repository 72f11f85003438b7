"""An on-screen keyboard of letters, digits and the dash, for typing a parcel barcode by
hand (``BIG-1``).

Keys are never smaller than the 9 mm touch target of the configured display. Where ten
keys side by side fit (landscape), the keys sit as on a keyboard::

    1 2 3 4 5 6 7 8 9 0
    Q W E R T Y U I O P
    A S D F G H J K L -
    Z X C V B N M [Del][Clear]

German keyboards swap Y and Z (QWERTZ): the rows follow the language on screen
(:data:`LAYOUTS`). Where ten keys do not fit (portrait), the digits, the alphabet and the
dash fill as many columns as fit, in reading order, with Delete and Clear sharing what is
left of the last row. Delete and Clear are wider than a letter, as their words are (in
German too).
"""

from __future__ import annotations

from collections.abc import Callable

from kiosk.ui import i18n
from kiosk.ui.i18n import _
from kiosk.ui.widgets import Button, Rect, cols, rows

QWERTY = ["1234567890", "QWERTYUIOP", "ASDFGHJKL-", "ZXCVBNM"]
QWERTZ = ["1234567890", "QWERTZUIOP", "ASDFGHJKL-", "YXCVBNM"]
LAYOUTS = {"de": QWERTZ}
"""The rows of a language whose keyboards are not QWERTY (by language code)."""
ALPHABET = "1234567890ABCDEFGHIJKLMNOPQRSTUVWXYZ-"


def keyboard(
    area: Rect,
    gap: int,
    min_target: int,
    on_char: Callable[[str], None],
    on_clear: Callable[[], None],
    on_back: Callable[[], None],
) -> list[Button]:
    """The keys, laid out in ``area``; each key is named ``key-<char>`` for tests."""
    if (area.width - 9 * gap) // 10 >= min_target:
        return _qwerty(area, gap, on_char, on_clear, on_back)
    return _columns(area, gap, min_target, on_char, on_clear, on_back)


def layout_for(language: str) -> list[str]:
    """The key rows people of ``language`` know (``de-AT`` as ``de``), QWERTY otherwise."""
    return LAYOUTS.get(language.split("-")[0], QWERTY)


def columns_that_fit(width: int, gap: int, min_target: int) -> int:
    """How many keys of at least ``min_target`` fit side by side in ``width``."""
    return max(1, min(10, (width + gap) // (min_target + gap)))


def _char_key(rect: Rect, char: str, on_char: Callable[[str], None]) -> Button:
    return Button(rect, char, lambda: on_char(char), "key", name=f"key-{char}", size=1.1)


def _edit_keys(
    back: Rect, clear: Rect, on_clear: Callable[[], None], on_back: Callable[[], None]
) -> list[Button]:
    return [
        Button(back, _("Delete"), on_back, "key", name="key-back", size=0.7),
        Button(clear, _("Clear"), on_clear, "key", name="key-clear", size=0.7),
    ]


def _qwerty(
    area: Rect,
    gap: int,
    on_char: Callable[[str], None],
    on_clear: Callable[[], None],
    on_back: Callable[[], None],
) -> list[Button]:
    buttons: list[Button] = []
    layout = layout_for(i18n.language())
    lines = rows(area, [1] * len(layout), gap)
    cells = [cols(line, [1] * 10, gap) for line in lines]
    for row_cells, chars in zip(cells, layout, strict=True):
        buttons += [_char_key(r, ch, on_char) for r, ch in zip(row_cells, chars, strict=False)]
    back, clear = cols(cells[3][7].union(cells[3][9]), [1, 1], gap)  # the rest of Z X C…
    return buttons + _edit_keys(back, clear, on_clear, on_back)


def _columns(
    area: Rect,
    gap: int,
    min_target: int,
    on_char: Callable[[str], None],
    on_clear: Callable[[], None],
    on_back: Callable[[], None],
) -> list[Button]:
    n_cols = columns_that_fit(area.width, gap, min_target)
    char_rows = -(-len(ALPHABET) // n_cols)
    left = char_rows * n_cols - len(ALPHABET)
    # Delete and Clear share the rest of the last row if it has room for two cells each
    # (their words do not fit one); otherwise a row of their own.
    edit_rows = 0 if left >= 4 else (1 if n_cols >= 2 else 2)
    n_rows = char_rows + edit_rows
    cells = [c for line in rows(area, [1] * n_rows, gap) for c in cols(line, [1] * n_cols, gap)]
    buttons = [_char_key(r, ch, on_char) for r, ch in zip(cells, ALPHABET, strict=False)]
    spare = cells[-n_cols * edit_rows :] if edit_rows else cells[len(ALPHABET) :]
    half = len(spare) // 2
    back, clear = spare[0].unionall(spare[1:half]), spare[half].unionall(spare[half + 1 :])
    return buttons + _edit_keys(back, clear, on_clear, on_back)
