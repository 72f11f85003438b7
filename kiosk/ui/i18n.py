"""Every visible string goes through gettext; catalogs are made with Babel.

``_("Pick up a parcel")`` translates at call time into the current language, so screens
call it while drawing. ``N_`` marks a string for extraction without translating it
(for tables built at import time). Lookups that find no translation are recorded, so a
test can show that no visible string is missing from a catalog.
"""

from __future__ import annotations

import gettext

# the catalogs' place is the daemon's to know too (it checks [kiosk] language against them)
from kiosk.protocol.languages import DOMAIN as DOMAIN
from kiosk.protocol.languages import LOCALE_DIR as LOCALE_DIR
from kiosk.protocol.languages import available_languages as available_languages

LANGUAGE_NAMES = {"en": "English", "de": "Deutsch"}

_current: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"
missing: set[tuple[str, str]] = set()


def set_language(code: str) -> str:
    """Switch every later ``_()`` to ``code``; unknown languages fall back to English."""
    global _current, _language
    try:
        _current = gettext.translation(DOMAIN, LOCALE_DIR, languages=[code])
        _language = code
    except OSError:
        _current = gettext.NullTranslations()
        _language = "en"
    return _language


def language() -> str:
    return _language


def _(message: str) -> str:
    text = _current.gettext(message)
    if text is message and _language != "en" and message:
        missing.add((_language, message))
    return text


def ngettext(singular: str, plural: str, n: int) -> str:
    text = _current.ngettext(singular, plural, n)
    if _language != "en" and text in (singular, plural):
        missing.add((_language, singular))
    return text


def N_(message: str) -> str:
    return message
