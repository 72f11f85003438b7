"""Checking what a person typed or a URL carries, before anything reads it further.

Every form field and query parameter passes one of these; a bad one is a
:class:`BadInput` naming the field and what is wrong in people's words (an English
``msgid``, translated where the page is rendered), answered with 400 and the page
again, never a server error and never a row that is not true.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Sequence

from office.web.i18n import N_

KIOSK_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
COMPARTMENT = re.compile(r"[A-Za-z0-9_-]{1,32}")
SIZE = re.compile(r"[A-Za-z0-9]{1,16}")
NAME = re.compile(r"[A-Za-z0-9_.@:-]{1,64}")
PHONE = re.compile(r"\+?[0-9][0-9 ()/.-]{4,30}")
EMAIL = re.compile(r"[^@\s]{1,64}@[A-Za-z0-9.-]{1,189}\.[A-Za-z]{2,24}")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
MAX_PAGE = 10_000


class BadInput(ValueError):
    """``field`` is not acceptable: ``message`` (an English msgid) says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def text(value: str | None, field: str, limit: int, required: bool = False) -> str:
    """One line of text without control characters, at most ``limit`` characters."""
    cleaned = (value or "").strip()
    if not cleaned:
        if required:
            raise BadInput(field, N_("This field is required."))
        return ""
    if len(cleaned) > limit or CONTROL.search(cleaned):
        raise BadInput(field, N_("Too long, or holds characters that are not allowed."))
    return cleaned


def note(value: str | None, field: str, limit: int = 500) -> str:
    """Free text over several lines (a note): newlines kept, other controls refused."""
    cleaned = (value or "").replace("\r\n", "\n").strip()
    if len(cleaned) > limit or CONTROL.search(cleaned.replace("\n", " ")):
        raise BadInput(field, N_("Too long, or holds characters that are not allowed."))
    return cleaned


def matching(value: str | None, field: str, pattern: re.Pattern[str], required: bool = True) -> str:
    cleaned = (value or "").strip()
    if not cleaned and not required:
        return ""
    if not pattern.fullmatch(cleaned):
        raise BadInput(field, N_("This is not a valid value here."))
    return cleaned


def choice(value: str | None, field: str, allowed: Sequence[str], default: str = "") -> str:
    cleaned = (value or "").strip()
    if not cleaned:
        return default
    if cleaned not in allowed:
        raise BadInput(field, N_("This is not one of the choices."))
    return cleaned


def integer(value: str | None, field: str, low: int, high: int, default: int | None = None) -> int:
    cleaned = (value or "").strip()
    if not cleaned and default is not None:
        return default
    if not re.fullmatch(r"[0-9]{1,19}", cleaned) or not low <= int(cleaned) <= high:
        raise BadInput(field, N_("Give a whole number in the allowed range."))
    return int(cleaned)


def number(value: str | None, field: str, low: float, high: float) -> float:
    cleaned = (value or "").strip().replace(",", ".")
    try:
        found = float(cleaned) if re.fullmatch(r"[0-9]{1,6}(\.[0-9]{1,3})?", cleaned) else None
    except ValueError:
        found = None
    if found is None or not math.isfinite(found) or not low <= found <= high:
        raise BadInput(field, N_("Give a number in the allowed range."))
    return found


def page(value: str | None) -> int:
    return integer(value, "page", 1, MAX_PAGE, default=1)


def flag(value: str | None, field: str) -> bool:
    return choice(value, field, ("1", "on", "yes", "true"), default="") != ""


def day(value: str | None, field: str, end: bool = False) -> float | None:
    """A date (YYYY-MM-DD) as the start of that day in the office's time, or with
    ``end`` the start of the next day; None when not given."""
    cleaned = (value or "").strip()
    if not cleaned:
        return None
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", cleaned):
            raise ValueError(cleaned)
        found = datetime.date.fromisoformat(cleaned)
        if not 2000 <= found.year <= 2200:
            raise ValueError(cleaned)
    except ValueError:
        raise BadInput(field, N_("Give a date as YYYY-MM-DD.")) from None
    if end:
        found += datetime.timedelta(days=1)
    return datetime.datetime.combine(found, datetime.time()).astimezone().timestamp()


def next_path(value: str | None) -> str:
    """Where to go after signing in: a path of this console only, never another site."""
    cleaned = (value or "").strip()
    if (
        not cleaned.startswith("/")
        or cleaned.startswith("//")
        or "\\" in cleaned
        or CONTROL.search(cleaned)
        or len(cleaned) > 500
    ):
        return "/"
    return cleaned
