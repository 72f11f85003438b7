"""Parcel barcodes as the scanner sends them, made fit to store, compare and show.

The scanner's framing (AIM symbology prefix, CR/LF and other control bytes) comes off
with :func:`kiosk.protocol.scan.scan_data`. The GS1 group separator (0x1D, FNC1 inside the
data) is part of the data and is kept; :func:`display_barcode` makes it visible.
"""

from __future__ import annotations

from kiosk.errors import InvalidInput
from kiosk.protocol.scan import GS, display_barcode, scan_data

__all__ = ["GS", "display_barcode", "normalize_barcode"]


def normalize_barcode(raw: str, max_length: int = 64) -> str:
    """``raw`` without AIM prefix, control characters (except GS) and edge whitespace.

    Raises :class:`InvalidInput` when nothing is left, when a character is not
    printable, or when the result is longer than ``max_length``.
    """
    text = scan_data(raw)
    if not text.replace(GS, "").strip() or not all(ch == GS or ch.isprintable() for ch in text):
        raise InvalidInput("That does not look like a parcel barcode")
    if len(text) > max_length:
        raise InvalidInput(f"A parcel barcode has at most {max_length} characters")
    return text
