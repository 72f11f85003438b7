"""What the kiosk says out loud, in the language on screen (through the UI's catalogs).

- :func:`door_position`: a door and where it is in the wall, for a person who cannot
  see the highlighted door: "Door A04, left column, fourth from the top."
- :func:`key_echo`: a key as it is pressed, without giving a code away to people
  standing by: the person chooses :attr:`KeyEcho.DIGITS` (with headphones: each digit
  said) or :attr:`KeyEcho.NEUTRAL` (out loud: "Digit entered", never which).
- :func:`lockout_started`, :func:`lockout_countdown`, :func:`lockout_over` and
  :func:`next_countdown_mark`: the keypad's lockout, said when it starts, at a few
  marks while it runs (not every second), and when it ends. The words do not blame
  the person standing there: the lockout is kiosk-wide, they may not have typed a code.

Every phrase is a sentence that ends in a full stop, so phrases can be joined into
one utterance and the voice pauses between them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from kiosk.ui.i18n import N_, _, ngettext

ORDINALS = (
    # TRANSLATORS: an ordinal standing for a door or a column: "fourth (door) from the
    # top", "second column from the left". German: Tür and Spalte, both feminine.
    N_("first"),
    N_("second"),
    N_("third"),
    N_("fourth"),
    N_("fifth"),
    N_("sixth"),
    N_("seventh"),
    N_("eighth"),
    N_("ninth"),
    N_("tenth"),
    N_("eleventh"),
    N_("twelfth"),
)


class KeyEcho(StrEnum):
    """How keys are echoed; the person chooses, the kiosk starts with NEUTRAL."""

    DIGITS = "digits"
    """Each digit said as itself: for a person wearing headphones."""
    NEUTRAL = "neutral"
    """"Digit entered" for every digit: out loud, for anyone to hear."""


DELETE = "delete"
CLEAR = "clear"
"""The keypad's keys that are not characters, as :func:`key_echo` takes them."""


def key_echo(key: str, mode: KeyEcho) -> str:
    """What to say for ``key`` (a digit, "+", :data:`DELETE` or :data:`CLEAR`).

    In :attr:`KeyEcho.NEUTRAL` the result never tells which digit it was."""
    if key == DELETE:
        return _("Deleted.")
    if key == CLEAR:
        return _("All deleted.")
    if key == "+":
        return _("Plus.")
    if mode is KeyEcho.DIGITS and len(key) == 1 and key.isdigit():
        return f"{key}."
    return _("Digit entered.") if key.isdigit() else _("Character entered.")


# -- the lockout --------------------------------------------------------------------

_MARKS = (90.0, 60.0, 30.0, 20.0, 10.0, 5.0)
"""Seconds left at which a countdown of two minutes or less is said."""


def lockout_started(seconds_left: float) -> str:
    why = _("After several wrong codes, the keypad is paused.")
    return f"{why} {lockout_countdown(seconds_left)}"


def lockout_countdown(seconds_left: float) -> str:
    """How long the wait still is: "You can type again in 25 seconds." Up to two
    minutes in seconds, then in minutes, always rounded up: a person told too short a
    wait tries in vain."""
    seconds = max(1, math.ceil(seconds_left))
    if seconds <= 120:
        return ngettext(
            "You can type again in {count} second.",
            "You can type again in {count} seconds.",
            seconds,
        ).format(count=seconds)
    minutes = math.ceil(seconds / 60)
    return ngettext(
        "You can type again in {count} minute.",
        "You can type again in {count} minutes.",
        minutes,
    ).format(count=minutes)


def lockout_over() -> str:
    return _("The keypad is ready again.")


def next_countdown_mark(seconds_left: float) -> float | None:
    """The seconds left at which the countdown is next said, after ``seconds_left``:
    each whole minute down to two, then 90, 60, 30, 20, 10 and 5; None after the last
    (then :func:`lockout_over` at the end)."""
    if seconds_left > 120:
        return max(120.0, (math.ceil(seconds_left / 60) - 1) * 60.0)
    return next((mark for mark in _MARKS if mark < seconds_left), None)


# -- where a door is ------------------------------------------------------------------


def door_position(door_id: str, wall: Sequence[Mapping[str, Any]]) -> str:
    """A door and where it is: "Door A04, left column, fourth from the top.", from the
    wall layout in the kiosk's info (``kiosk["wall"]``: each door's ``id``, ``column``
    and ``row``).

    Columns count from the left as the wall picture draws them; a door is counted
    from the top of its column. What does not help is left out: the column in a wall
    of one column, the place in a column of one door. A door not in ``wall`` is
    named alone."""
    door = next((d for d in wall if d.get("id") == door_id), None)
    if door is None:
        return _("Door {door}.").format(door=door_id)
    columns = sorted({d["column"] for d in wall})
    in_column = sorted((d for d in wall if d["column"] == door["column"]), key=lambda d: d["row"])
    column = _column(columns.index(door["column"]), len(columns))
    row = _row([d["id"] for d in in_column].index(door_id), len(in_column))
    if column and row:
        return _("Door {door}, {column}, {row}.").format(door=door_id, column=column, row=row)
    if column:
        return _("Door {door}, {column}.").format(door=door_id, column=column)
    if row:
        return _("Door {door}, {row}.").format(door=door_id, row=row)
    return _("Door {door}.").format(door=door_id)


def _ordinal(n: int) -> str | None:
    return _(ORDINALS[n - 1]) if 1 <= n <= len(ORDINALS) else None


def _column(index: int, count: int) -> str | None:
    """The column at ``index`` (0 = leftmost) of ``count``, named from its nearer side."""
    if count == 1:
        return None
    if index == 0:
        return _("left column")
    if index == count - 1:
        return _("right column")
    if count % 2 == 1 and index == count // 2:
        return _("middle column")
    if index < count - 1 - index:
        place = index + 1
        ordinal = _ordinal(place)
        if ordinal:
            return _("{ordinal} column from the left").format(ordinal=ordinal)
        return _("column {number} from the left").format(number=place)
    place = count - index
    ordinal = _ordinal(place)
    if ordinal:
        return _("{ordinal} column from the right").format(ordinal=ordinal)
    return _("column {number} from the right").format(number=place)


def _row(index: int, count: int) -> str | None:
    """The door at ``index`` (0 = top) of a column of ``count``."""
    if count == 1:
        return None
    if index == 0:
        return _("at the top")
    if index == count - 1:
        return _("at the bottom")
    ordinal = _ordinal(index + 1)
    if ordinal:
        return _("{ordinal} from the top").format(ordinal=ordinal)
    return _("number {number} from the top").format(number=index + 1)
