"""A window onto the simulated locker bank: what the hardware would show a technician.

Each door is drawn with its physical state from the simulator's control socket: door
open or shut, latch, lock coil energised, parcel inside (item sensor), and faults.
Click a door to open or close it by hand; right-click to jam or free its lock. Keys:
``p`` switches the simulated person between auto and manual, ``k`` kills or revives
the board of the door under the mouse, ``f`` forces that door open, ``l`` makes the
person leave it open.

It is a separate process (``locker-kiosk sim-window``) that talks to the simulator
through :class:`hw_sim.control.SimControl`, like the fault-injecting tests do.
"""

from __future__ import annotations

import os
import time
from typing import Any

from hw_sim.control import SimControl, SimControlError

BG = (30, 33, 38)
DOOR = (92, 99, 112)
OPEN = (255, 196, 0)
INK = (255, 255, 255)
DARK = (20, 24, 31)
ALERT = (220, 38, 38)
ITEM = (96, 165, 250)
COIL = (255, 80, 80)
REFRESH_S = 0.1


def layout(snapshot: dict[str, dict[str, Any]], width: int, height: int) -> dict[str, Any]:
    """One column per id letter, doors in id order from the top."""
    import pygame

    columns: dict[str, list[str]] = {}
    for cid in sorted(snapshot):
        columns.setdefault(cid.rstrip("0123456789") or "A", []).append(cid)
    legend_h = 70
    n_cols = max(1, len(columns))
    col_w = (width - 20) // n_cols
    rects = {}
    for i, (_letter, ids) in enumerate(sorted(columns.items())):
        door_h = (height - legend_h - 20) // max(1, len(ids))
        for j, cid in enumerate(ids):
            rects[cid] = pygame.Rect(10 + i * col_w + 4, 10 + j * door_h + 3, col_w - 8,
                                     door_h - 6)  # fmt: skip
    return rects


def draw(
    surface: Any, font: Any, snapshot: dict[str, dict[str, Any]], person: str
) -> dict[str, Any]:
    import pygame

    surface.fill(BG)
    width, height = surface.get_size()
    rects = layout(snapshot, width, height)
    for cid, rect in rects.items():
        s = snapshot[cid]
        fill = OPEN if s["door_open"] else DOOR
        if s["board_dead"]:
            fill = (60, 60, 60)
        pygame.draw.rect(surface, fill, rect, border_radius=4)
        ink = DARK if s["door_open"] else INK
        label = f"{cid}  lock {s['lock']}"
        surface.blit(font.render(label, True, ink), (rect.x + 6, rect.y + 4))
        flags = []
        if s["energised"]:
            flags.append(("COIL ON", COIL))
        flags.append(("latched" if s["latched"] else "unlatched", ink))
        if s["jammed"]:
            flags.append(("JAMMED", ALERT))
        if s["leave_open"]:
            flags.append(("stays open", ALERT))
        if s.get("forced"):
            flags.append(("FORCED", ALERT))
        if s["board_dead"]:
            flags.append(("BOARD DEAD", ALERT))
        if s["sensor_open"] != s["door_open"]:
            flags.append(("sensor flapping", ALERT))
        x = rect.x + 6
        y = rect.y + 4 + font.get_linesize()
        for text, color in flags:
            image = font.render(text, True, color)
            if x + image.get_width() > rect.right:
                x, y = rect.x + 6, y + font.get_linesize()
            surface.blit(image, (x, y))
            x += image.get_width() + 10
        if s["item"]:
            pygame.draw.rect(surface, ITEM, (rect.right - 26, rect.bottom - 22, 20, 16))
    # Two short lines: one long one ran off the default 520-pixel window.
    legend = [f"person: {person}   click: open/close   right-click: jam",
              "p: person   k: board dead   f: force open   l: left open"]  # fmt: skip
    line_h = font.get_linesize()
    for i, line in enumerate(legend):
        surface.blit(font.render(line, True, INK), (10, height - 60 + i * line_h))
    surface.blit(font.render("blue box = parcel inside (item sensor)", True, ITEM),
                 (10, height - 60 + 2 * line_h))  # fmt: skip
    return rects


def run_window(control_socket: str, size: tuple[int, int] = (520, 600)) -> int:
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    pygame.display.init()
    pygame.font.init()
    surface = pygame.display.set_mode(size, pygame.RESIZABLE)
    pygame.display.set_caption("locker-kiosk simulator")
    font = pygame.font.Font(None, 20)
    control = SimControl(control_socket, timeout=1.0)
    rects: dict[str, Any] = {}
    snapshot: dict[str, dict[str, Any]] = {}
    person = "auto"
    running = True
    while running:
        try:
            snapshot = control.snapshot()
        except (SimControlError, OSError):
            snapshot = {}
        rects = draw(surface, font, snapshot, person)
        pygame.display.flip()
        deadline = time.monotonic() + REFRESH_S
        while running and time.monotonic() < deadline:
            event = pygame.event.wait(max(1, int((deadline - time.monotonic()) * 1000)))
            if event.type == pygame.QUIT:
                running = False
            elif event.type in (pygame.MOUSEBUTTONDOWN, pygame.KEYDOWN):
                person = _act(event, control, rects, snapshot, person)
            elif event.type == pygame.VIDEORESIZE:
                surface = pygame.display.set_mode((event.w, event.h), pygame.RESIZABLE)
    pygame.quit()
    return 0


def _act(event: Any, control: SimControl, rects: dict[str, Any],
         snapshot: dict[str, dict[str, Any]], person: str) -> str:  # fmt: skip
    import pygame

    pos = event.pos if event.type == pygame.MOUSEBUTTONDOWN else pygame.mouse.get_pos()
    cid = next((c for c, r in rects.items() if r.collidepoint(pos)), None)
    try:
        if event.type == pygame.KEYDOWN and event.key == pygame.K_p:
            person = "manual" if person == "auto" else "auto"
            control.set_person(person)
        elif cid is None:
            return person
        elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            if snapshot[cid]["door_open"]:
                control.close_door(cid)
            else:
                control.open_door(cid)
        elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 3:
            control.unjam(cid) if snapshot[cid]["jammed"] else control.jam(cid)
        elif event.type == pygame.KEYDOWN and event.key == pygame.K_k:
            board = snapshot[cid]["board"]
            if snapshot[cid]["board_dead"]:
                control.revive_board(board)
            else:
                control.kill_board(board)
        elif event.type == pygame.KEYDOWN and event.key == pygame.K_f:
            control.force_open(cid)
        elif event.type == pygame.KEYDOWN and event.key == pygame.K_l:
            control.leave_open(cid, not snapshot[cid]["leave_open"])
    except (SimControlError, OSError):
        pass  # the simulator went away; the next refresh shows it
    return person
