"""What a scanner sends, less what is not data: its framing, shared by the daemon
(:mod:`kiosk.barcode`) and the touchscreen (:mod:`kiosk.ui.scanned`).

Scanners prefix an AIM symbology identifier when configured to (``]C1`` for GS1-128,
``]Q3`` for a QR code, ``]d2`` for GS1 DataMatrix), and may add CR/LF or other control
bytes. The GS1 group separator (0x1D, FNC1 inside the data) is part of the data and is
kept; :func:`display_barcode` makes it visible. This module imports nothing of the kiosk,
so the UI may use it without the core.
"""

from __future__ import annotations

import re
import unicodedata

GS = "\x1d"

_AIM_PREFIX = re.compile(r"\][A-Za-z][0-9A-Za-z]")


def scan_data(raw: str) -> str:
    """``raw`` without AIM prefix, control characters (except GS) and edge whitespace;
    possibly empty."""
    text = _trim("".join(ch for ch in raw if ch == GS or not _is_control(ch)))
    prefix = _AIM_PREFIX.match(text)
    if prefix:
        text = _trim(text[prefix.end() :])
    return text


def display_barcode(barcode: str) -> str:
    """``barcode`` for screens, logs and terminals: the group separator shown as ``<GS>``."""
    return barcode.replace(GS, "<GS>")


def _is_control(ch: str) -> bool:
    # Category Cc is exactly C0 (0x00-0x1F), DEL (0x7F) and C1 (0x80-0x9F).
    return unicodedata.category(ch) == "Cc"


def _trim(text: str) -> str:
    # Not str.strip(): Python counts 0x1C..0x1F as whitespace, and the group separator
    # is data that must not be trimmed.
    start, end = 0, len(text)
    while start < end and _is_edge_space(text[start]):
        start += 1
    while end > start and _is_edge_space(text[end - 1]):
        end -= 1
    return text[start:end]


def _is_edge_space(ch: str) -> bool:
    return ch != GS and ch.isspace()
