"""Drawing helpers and the few widgets the kiosk needs.

Screens rebuild their widgets on every frame from their state (there are a few dozen at
most), so nothing on screen can be stale after a language switch or a resize. The
painter records every string it draws: tests read the screen as a person would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pygame

from kiosk.ui import theme
from kiosk.ui.theme import Color, Metrics

Rect = pygame.Rect

STYLES: dict[str, tuple[Color, Color]] = {
    "primary": (theme.PRIMARY, theme.PRIMARY_TEXT),
    "secondary": (theme.SECONDARY, theme.SECONDARY_TEXT),
    "danger": (theme.DANGER, theme.DANGER_TEXT),
    "ok": (theme.OK, theme.OK_TEXT),
    "key": (theme.PANEL, theme.INK),
    "warn": (theme.WARN, theme.WARN_TEXT),
    "disabled": (theme.DISABLED, theme.DISABLED_TEXT),
}

SMALLEST = 0.55
"""The smallest text size (of :attr:`Metrics.unit`) that text is shrunk to so it fits."""

AREA = "area"
"""The style of a button the screen drew itself (a door on the wall): only its tap counts."""


@dataclass
class Button:
    rect: Rect
    label: str
    on_tap: Callable[[], None] | None = None
    style: str = "primary"
    enabled: bool = True
    name: str = ""
    size: float = 1.0
    sublabel: str = ""

    def hit(self, pos: tuple[int, int]) -> bool:
        return self.enabled and self.on_tap is not None and self.rect.collidepoint(pos)


@dataclass
class Painter:
    surface: pygame.Surface
    metrics: Metrics
    texts: list[str] = field(default_factory=list)
    overflows: list[str] = field(default_factory=list)
    """Text that did not fit its rectangle (a word wider than it, or lines taller):
    a layout bug, which ``tests/ui/test_accessibility.py`` looks for."""
    unspoken: list[str] = field(default_factory=list)
    """Text drawn with ``spoken=False``, which spoken guidance never says (the field a
    code or PIN is typed into: the key echo speaks for it)."""
    _fonts: dict[int, pygame.font.Font] = field(default_factory=dict)

    def font(self, size: float = 1.0) -> pygame.font.Font:
        px = max(10, round(self.metrics.unit * size))
        if px not in self._fonts:
            self._fonts[px] = pygame.font.Font(None, round(px * 1.35))
        return self._fonts[px]

    def fill(self, rect: Rect, color: Color, radius: int = 0) -> None:
        pygame.draw.rect(self.surface, color, rect, border_radius=radius)

    def outline(self, rect: Rect, color: Color, width: int = 3, radius: int = 0) -> None:
        pygame.draw.rect(self.surface, color, rect, width, border_radius=radius)

    def text(
        self,
        text: str,
        rect: Rect,
        color: Color = theme.INK,
        size: float = 1.0,
        align: str = "center",
        spoken: bool = True,
    ) -> int:
        """Draw ``text`` wrapped into ``rect``; returns the height used. ``spoken=False``:
        spoken guidance does not say it (:attr:`unspoken`)."""
        if not text:
            return 0
        self.texts.append(text)
        if not spoken:
            self.unspoken.append(text)
        font, lines = self._fit(text, rect, size)
        line_h = font.get_linesize()
        total = line_h * len(lines)
        y = rect.top + max(0, (rect.height - total) // 2) if align == "center" else rect.top
        for line in lines:
            image = font.render(line, True, color)
            x = rect.centerx - image.get_width() // 2 if align == "center" else rect.left
            self.surface.blit(image, (x, y))
            y += line_h
        return total

    def _fit(self, text: str, rect: Rect, size: float) -> tuple[pygame.font.Font, list[str]]:
        """The font and lines of ``text`` in ``rect``: at ``size``, or a little smaller
        (never under :data:`SMALLEST`) where a long word or a translation would not fit.
        Text that does not fit even then is recorded in :attr:`overflows`."""
        smallest = min(size, SMALLEST)
        while True:
            font = self.font(size)
            lines = wrap(text, font, rect.width)
            widest = max(font.size(line)[0] for line in lines)
            height = font.get_linesize() * len(lines)
            if widest <= rect.width and height <= rect.height:
                return font, lines
            if size <= smallest:
                self.overflows.append(
                    f"{text!r}: {widest}×{height} px drawn in {rect.width}×{rect.height} px"
                )
                return font, lines
            size = max(smallest, size - 0.05)

    def focus_ring(self, rect: Rect) -> None:
        """The keyboard focus on ``rect``: a dark band filling half the gap around it
        and a white line just inside its edge (theme.FOCUS_*)."""
        gap = self.metrics.gap
        self.outline(rect, theme.FOCUS_HALO, max(2, gap // 3), gap)
        self.outline(rect.inflate(gap, gap), theme.FOCUS_RING, max(2, gap // 2), gap + gap // 2)

    def button(self, b: Button) -> None:
        if b.style == AREA:
            return
        bg, fg = STYLES["disabled" if not b.enabled else b.style]
        radius = self.metrics.gap
        self.fill(b.rect, bg, radius)
        if b.sublabel:
            top = b.rect.copy()
            top.height = b.rect.height * 3 // 5
            bottom = b.rect.copy()
            bottom.top = top.bottom - self.metrics.gap
            bottom.height = b.rect.height - top.height
            self.text(b.label, top, fg, b.size)
            self.text(b.sublabel, bottom, fg, 0.7)
        else:
            self.text(b.label, b.rect.inflate(-self.metrics.gap, 0), fg, b.size)


# -- keyboard focus -----------------------------------------------------------------

MOVES = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}
"""The arrow keys, as the direction each moves the focus in."""


def focus_key(b: Button) -> str:
    """What identifies a button from one frame to the next (they are rebuilt each one)."""
    return b.name or b.label


def focusable(buttons: list[Button]) -> list[Button]:
    """The buttons a tap would work on, in the order the screen made them (Tab's order)."""
    return [b for b in buttons if b.enabled and b.on_tap is not None]


def move_focus(buttons: list[Button], current: str | None, move: str) -> str | None:
    """The button focused after ``move``: ``tab`` and ``back-tab`` step through
    :func:`focusable` in order (round), an arrow goes to the nearest button that way
    (staying put at the edge). With nothing focused yet, the first one."""
    order = focusable(buttons)
    keys = [focus_key(b) for b in order]
    if not order:
        return None
    if current not in keys:
        return keys[-1] if move == "back-tab" else keys[0]
    at = keys.index(current)
    if move in ("tab", "back-tab"):
        return keys[(at + (1 if move == "tab" else -1)) % len(keys)]
    dx, dy = MOVES[move]
    here = order[at].rect.center
    best: tuple[float, str] | None = None
    for b in order:
        off_x, off_y = b.rect.centerx - here[0], b.rect.centery - here[1]
        along, across = off_x * dx + off_y * dy, abs(off_x * dy) + abs(off_y * dx)
        if along > 0 and (best is None or along + 2 * across < best[0]):
            best = (along + 2 * across, focus_key(b))
    return best[1] if best else current


def wrap(text: str, font: pygame.font.Font, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        words = paragraph.split(" ")
        line = ""
        for word in words:
            trial = f"{line} {word}".strip()
            if font.size(trial)[0] <= width or not line:
                line = trial
            else:
                lines.append(line)
                line = word
        lines.append(line)
    return lines


def rows(area: Rect, weights: list[float], gap: int) -> list[Rect]:
    """Split ``area`` top to bottom in proportion to ``weights``."""
    free = area.height - gap * (len(weights) - 1)
    total = sum(weights)
    out, y = [], area.top
    for w in weights:
        h = round(free * w / total)
        out.append(Rect(area.left, y, area.width, h))
        y += h + gap
    return out


def cols(area: Rect, weights: list[float], gap: int) -> list[Rect]:
    """Split ``area`` left to right in proportion to ``weights``."""
    free = area.width - gap * (len(weights) - 1)
    total = sum(weights)
    out, x = [], area.left
    for w in weights:
        wd = round(free * w / total)
        out.append(Rect(x, area.top, wd, area.height))
        x += wd + gap
    return out


def grid(area: Rect, n_cols: int, n_rows: int, gap: int) -> list[Rect]:
    """Cells of an ``n_cols`` × ``n_rows`` grid, row by row."""
    return [cell for row in rows(area, [1] * n_rows, gap) for cell in cols(row, [1] * n_cols, gap)]
