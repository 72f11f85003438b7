"""Colours, type sizes and physical sizes.

Every text colour is paired with the background it is drawn on, and
``tests/ui/test_accessibility.py`` holds each pair to a WCAG contrast of at least 4.5:1.
Touch targets are sized in millimetres on the configured display (``ui.display_dpi``)
and never smaller than 9 mm.
"""

from __future__ import annotations

from dataclasses import dataclass

Color = tuple[int, int, int]

INK = (20, 24, 31)
PAPER = (246, 247, 249)
PANEL = (226, 230, 236)
PRIMARY = (0, 82, 147)  # white text on it: 8.0:1
PRIMARY_TEXT = (255, 255, 255)
SECONDARY = (55, 65, 81)
SECONDARY_TEXT = (255, 255, 255)
DANGER = (176, 0, 32)
DANGER_TEXT = (255, 255, 255)
OK = (0, 105, 62)
OK_TEXT = (255, 255, 255)
WARN = (255, 214, 102)
WARN_TEXT = (20, 24, 31)
DISABLED = (208, 213, 221)
DISABLED_TEXT = (75, 85, 99)
HIGHLIGHT = (255, 196, 0)

# Compartment states on the wall and the technician grid: (fill, text)
STATE_COLORS: dict[str, tuple[Color, Color]] = {
    "AVAILABLE": ((214, 240, 224), INK),
    "RESERVED": ((255, 236, 179), INK),
    "OCCUPIED": ((191, 219, 254), INK),
    "OUT_OF_SERVICE": ((96, 96, 96), (255, 255, 255)),
    "OPEN": (HIGHLIGHT, INK),
    "UNKNOWN": ((120, 53, 15), (255, 255, 255)),
}

#: every (text, background) pair the UI draws
TEXT_PAIRS: list[tuple[Color, Color]] = [
    (INK, PAPER),
    (INK, PANEL),
    (PRIMARY_TEXT, PRIMARY),
    (SECONDARY_TEXT, SECONDARY),
    (DANGER_TEXT, DANGER),
    (OK_TEXT, OK),
    (WARN_TEXT, WARN),
    (DISABLED_TEXT, DISABLED),
    (DANGER, PAPER),
    (PRIMARY, PAPER),
    *STATE_COLORS.values(),
]

FOCUS_RING = INK
FOCUS_HALO = (255, 255, 255)
"""The keyboard focus ring: a dark line with a white one inside it, so that one of the
two stands out by at least 3:1 (WCAG 2.2, focus appearance) from whatever is next to
it: the paper around a button, or the button's own colour."""

#: what the focus ring may be drawn on or next to
FOCUS_BACKGROUNDS: list[Color] = [
    PAPER,
    PANEL,
    PRIMARY,
    SECONDARY,
    DANGER,
    OK,
    WARN,
    DISABLED,
    *(fill for fill, _text in STATE_COLORS.values()),
]

MIN_TARGET_MM = 9.0


def relative_luminance(c: Color) -> float:
    def channel(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in c)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: Color, b: Color) -> float:
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@dataclass(frozen=True)
class Metrics:
    """Sizes in pixels for one display."""

    width: int
    height: int
    dpi: float = 133.0
    large_text: bool = False

    def mm(self, millimetres: float) -> int:
        return round(millimetres * self.dpi / 25.4)

    @property
    def min_target(self) -> int:
        return self.mm(MIN_TARGET_MM)

    @property
    def unit(self) -> int:
        """The base text size: scales with the shorter side of the screen."""
        base = min(self.width, self.height) / 20
        return round(base * (1.35 if self.large_text else 1.0))

    @property
    def gap(self) -> int:
        return max(6, min(self.width, self.height) // 60)

    @property
    def is_portrait(self) -> bool:
        return self.height > self.width
