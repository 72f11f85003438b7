"""The console's languages: English and German, from gettext catalogs made with Babel.

Every visible string of the console's templates and code is an English ``msgid``
(``_("Alarms")``, marked with ``N_`` where it is declared at import time); the German
catalog lives in ``office/web/locale/de/LC_MESSAGES/locker-office.po`` and its compiled
``.mo`` beside it (tools/office_i18n.sh makes both). A request's language is the
person's choice (a cookie, set by the switch on every page), else the best of its
``Accept-Language``, else English. Dates and numbers are formatted by Babel for that
language.
"""

from __future__ import annotations

import datetime
import functools
import gettext
from dataclasses import dataclass, field
from pathlib import Path

from babel import Locale
from babel.dates import DateTimePattern, format_timedelta, parse_pattern
from babel.numbers import format_decimal, format_percent

DOMAIN = "locker-office"
LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = {"en": "English", "de": "Deutsch"}
DEFAULT = "en"
COOKIE = "lo_lang"


def N_(message: str) -> str:
    """Mark ``message`` for the catalog without translating it (tables at import time)."""
    return message


def _load(code: str) -> gettext.NullTranslations:
    if code == DEFAULT:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[code], fallback=True)


_CATALOGS = {code: _load(code) for code in LANGUAGES}


@dataclass
class Translator:
    """One request's language: ``_``, ``ngettext`` and Babel's formats for it."""

    code: str
    missing: set[str] = field(default_factory=set)

    @property
    def catalog(self) -> gettext.NullTranslations:
        return _CATALOGS[self.code]

    def _(self, message: str) -> str:
        text = self.catalog.gettext(message)
        if text == message and self.code != DEFAULT and message:
            self.missing.add(message)
        return text

    def words(self, table: dict[str, str]) -> dict[str, str]:
        """Every code of ``table`` (office/web/labels.py) in this language, made once."""
        return _words(self.code, id(table), table)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.catalog.ngettext(singular, plural, n)

    def when(self, ts: float | None) -> str:
        if ts is None:
            return "–"
        moment = datetime.datetime.fromtimestamp(ts).astimezone()
        return _datetime_pattern(self.code).apply(moment, _locale(self.code))

    def ago(self, ts: float | None, now: float) -> str:
        if ts is None:
            return self._("never")
        return _ago(self.code, round(ts - now))

    def number(self, value: float) -> str:
        return format_decimal(value, locale=self.code)

    def percent(self, share: float) -> str:
        return format_percent(share, locale=self.code)


# Babel parses a pattern on every call; a page of a hundred times would parse it a
# hundred times. The pattern of each language, and the words for each whole number of
# seconds ago, are kept instead.


@functools.cache
def _locale(code: str) -> Locale:
    return Locale.parse(code)


@functools.cache
def _datetime_pattern(code: str) -> DateTimePattern:
    locale = _locale(code)
    date = locale.date_formats["medium"].pattern
    clock = locale.time_formats["medium"].pattern
    joined = locale.datetime_formats["medium"].replace("{1}", date).replace("{0}", clock)
    return parse_pattern(joined)


_WORDS: dict[tuple[str, int], dict[str, str]] = {}


def _words(code: str, key: int, table: dict[str, str]) -> dict[str, str]:
    found = _WORDS.get((code, key))
    if found is None:
        catalog = _CATALOGS[code]
        found = _WORDS[(code, key)] = {c: catalog.gettext(w) for c, w in table.items()}
    return found


@functools.lru_cache(maxsize=8192)
def _ago(code: str, seconds: int) -> str:
    delta = datetime.timedelta(seconds=seconds)
    return format_timedelta(delta, add_direction=True, locale=code)


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The language for a request: the cookie's, else the best of Accept-Language."""
    if cookie in LANGUAGES:
        return str(cookie)
    wanted = []
    for part in (accept_language or "")[:500].split(","):
        tag, _, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            continue
        if tag:
            wanted.append((weight, tag.strip()))
    ranked = [tag.replace("-", "_") for _w, tag in sorted(wanted, key=lambda w: -w[0])]
    try:
        found = Locale.negotiate(ranked, list(LANGUAGES), sep="_")
    except ValueError:
        found = None
    return str(found.language) if found is not None else DEFAULT
