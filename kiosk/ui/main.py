"""``locker-kiosk ui``: the touchscreen process."""

from __future__ import annotations

import argparse
import os
import sys

from kiosk.protocol.client import touchscreen_socket_path

SIZES = ("800x480", "1024x600", "1280x800", "480x800")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ui = sub.add_parser(
        "ui",
        help="the touchscreen (a client of the daemon's API)",
        description="Run the touchscreen UI. It talks to the daemon over the touchscreen's "
        "own socket only, shows 'out of service' while the daemon is away and reconnects "
        "by itself.",
    )
    ui.add_argument(
        "--socket",
        help="the daemon's socket for the touchscreen (default: $LOCKER_TOUCHSCREEN_SOCKET "
        "or /run/locker-kiosk/touchscreen.sock)",
    )
    ui.add_argument("--fullscreen", action="store_true", help="take the whole display")
    ui.add_argument("--size", default="800x480", help=f"window size WxH (e.g. {', '.join(SIZES)})")
    ui.add_argument("--lang", help="start in this language (default: the kiosk's first)")


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SystemExit(f"locker-kiosk ui: --size must look like 800x480, not {text!r}") from None
    if not (200 <= w <= 8000 and 200 <= h <= 8000):
        raise SystemExit(f"locker-kiosk ui: --size {text} is out of range")
    return w, h


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    from kiosk.ui.app import App

    try:
        socket = touchscreen_socket_path(args.socket)
        app = App(socket, parse_size(args.size), args.fullscreen, args.lang)
    except pygame.error as exc:
        print(f"locker-kiosk ui: cannot open the display: {exc}", file=sys.stderr)
        return 1
    app.run()
    return 0
