"""The touchscreen's languages, learnt from its compiled catalogs read as files.

The daemon checks ``[kiosk] language`` against this list without importing the UI: the
catalogs are package data of ``kiosk/ui/locale``, one ``.mo`` per language besides English,
which needs none.
"""

from __future__ import annotations

from pathlib import Path

DOMAIN = "locker-kiosk"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "ui" / "locale"


def available_languages() -> list[str]:
    """English first, then every language with a compiled catalog, in name order."""
    found = ["en"]
    for mo in sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")):
        found.append(mo.parent.parent.name)
    return found
