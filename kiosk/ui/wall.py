"""A picture of the locker wall: columns of doors, each as tall as its size.

Used to show a customer or a courier which door opened, and as the technician's grid
(colour by state, door and board health). Returns the rectangle of every door so a
screen can make them tappable.
"""

from __future__ import annotations

from collections.abc import Callable

from kiosk.protocol.views import KioskInfo, WallPlace
from kiosk.ui import theme
from kiosk.ui.theme import Color
from kiosk.ui.widgets import Painter, Rect, cols

Colorer = Callable[[WallPlace], tuple[Color, Color, str]]


def plain(door: WallPlace) -> tuple[Color, Color, str]:
    return theme.PANEL, theme.INK, door["id"]


def draw_wall(
    p: Painter,
    area: Rect,
    kiosk: KioskInfo | None,
    highlight: str | None = None,
    colorer: Colorer = plain,
) -> dict[str, Rect]:
    rects = wall_rects(area, kiosk, max(2, p.metrics.gap // 3))
    draw_doors(p, rects, kiosk, highlight, colorer)
    return rects


def wall_rects(area: Rect, kiosk: KioskInfo | None, gap: int) -> dict[str, Rect]:
    """Where each door sits in ``area``, without drawing anything."""
    if not kiosk or not kiosk.get("wall"):
        return {}
    heights = {s["name"]: s["height_mm"] for s in kiosk["sizes"]}
    columns: dict[int, list[WallPlace]] = {}
    for door in kiosk["wall"]:
        columns.setdefault(door["column"], []).append(door)
    order = sorted(columns)
    tallest = max(sum(heights[d["size"]] for d in columns[c]) for c in order)
    rects: dict[str, Rect] = {}
    for col_rect, c in zip(cols(area, [1] * len(order), gap), order, strict=True):
        doors = sorted(columns[c], key=lambda d: d["row"])
        free = col_rect.height - gap * (len(doors) - 1)
        y = col_rect.top
        for door in doors:
            h = max(4, round(free * heights[door["size"]] / tallest))
            rects[door["id"]] = Rect(col_rect.left, y, col_rect.width, h)
            y += h + gap
    return rects


def draw_doors(
    p: Painter,
    rects: dict[str, Rect],
    kiosk: KioskInfo | None,
    highlight: str | None = None,
    colorer: Colorer = plain,
) -> None:
    """Draw the doors of the wall at ``rects`` (from :func:`wall_rects` or any layout).

    A label of several lines keeps only the lines that fit the door's height."""
    line_h = p.font(0.6).get_linesize()
    for door in kiosk.get("wall", []) if kiosk else []:
        rect = rects.get(door["id"])
        if rect is None:
            continue
        fill, ink, label = colorer(door)
        if door["id"] == highlight:
            fill, ink = theme.HIGHLIGHT, theme.INK
        p.fill(rect, fill, 3)
        # The open door's thick frame must not hide the fill of a short door.
        lit = door["id"] == highlight
        width = max(2, min(6, rect.height // 4)) if lit else 1
        p.outline(rect, theme.INK if lit else theme.SECONDARY, width, 3)
        fit = rect.height // line_h
        if fit:
            p.text("\n".join(label.split("\n")[:fit]), rect, ink, 0.6)
