"""What a scan holds, read as the kiosk's own codes: a pickup code, a badge.

A scanner may put an AIM symbology identifier (``]Q3`` for a QR code) in front of the
data and control bytes around it; :func:`kiosk.protocol.scan.scan_data` takes them off, as
it does for the daemon's parcel barcodes, and nothing here does that again.
"""

from __future__ import annotations

from kiosk.protocol.scan import scan_data

SEPARATORS = " -"
"""What may stand between the digits of a printed pickup code: ``1234 5678``, ``1234-5678``."""

BADGE_MAX = 256
"""The longest badge the daemon's sign-in accepts."""


def badge(text: str) -> str | None:
    """The badge in a scan; None if nothing is left, or too much."""
    data = scan_data(text)
    return data if data.strip() and len(data) <= BADGE_MAX else None


def pickup_code(text: str, digits: int) -> str | None:
    """The pickup code in a scan: exactly ``digits`` digits (0-9), with nothing else but
    :data:`SEPARATORS` between them; None for anything else."""
    data = scan_data(text)
    if any(ch not in "0123456789" + SEPARATORS for ch in data):
        return None
    code = "".join(ch for ch in data if ch not in SEPARATORS)
    return code if len(code) == digits else None
