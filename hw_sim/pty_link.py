"""A pseudo-terminal pair that stands in for a serial cable to an emulated board.

The driver opens :attr:`PtyLink.device` like any serial port; the emulator gets what
the driver writes through a callback on the link's reader thread and answers with
:meth:`PtyLink.write`. The slave side is put in raw mode (pyserial does so again when it
opens the port), so 0x03 and 0x11/0x13 pass unchanged.

A pty moves bytes at once, not at the baud rate. An emulator that should behave like
the wire paces itself with :meth:`PtyLink.pace` and ``write(..., baud=...)``: at 8N1 a
byte takes 10 bit times, so a 9-byte reply takes 4.7 ms at 19200 baud::

    driver   02 00 30 03 35 ____________________________
    wire     |<- 5 bytes ->|<- 9 bytes: 02 00 35 .. ->|
    emulator         request complete ^   reply written ^

What a caller may rely on: the slave stays open inside the link, so the pty survives a
driver closing and reopening the port; :meth:`close` is idempotent and removes the
symlink made at ``link_path``.

Give drivers the ``link_path`` rather than the bare ``/dev/pts/N`` where a driver may
outlive the link: the kernel hands a freed pty number to the next pty opened (by any
process) at once, so a driver reopening the bare path after the link closed can end up
talking to somebody else's emulator; a removed link fails like an unplugged adapter.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pty
import select
import termios
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path

__all__ = ["BITS_PER_BYTE", "PtyLink", "ReceiveCallback", "wire_time"]

log = logging.getLogger(__name__)

BITS_PER_BYTE = 10  # 8N1: start bit, 8 data bits, stop bit
_READ_SIZE = 4096

_SPEEDS = {
    getattr(termios, f"B{baud}"): baud
    for baud in (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400)
}

ReceiveCallback = Callable[[bytes, float], None]
"""``on_receive(data, monotonic time the bytes were read)``; runs on the link's thread."""


def wire_time(nbytes: int, baud: int) -> float:
    """Seconds that ``nbytes`` take on the wire at ``baud``, 8N1."""
    return nbytes * BITS_PER_BYTE / baud


class PtyLink:
    """One pty pair: :attr:`device` for the driver, the master side for an emulator."""

    def __init__(self, link_path: str | Path | None = None) -> None:
        self._master, self._slave = pty.openpty()
        tty.setraw(self._slave)
        self.tty_path = os.ttyname(self._slave)
        self.link_path = Path(link_path) if link_path else None
        if self.link_path is not None:
            self._make_link(self.link_path)
        self.device = str(self.link_path) if self.link_path else self.tty_path
        self._wake_r, self._wake_w = os.pipe()
        self._write_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def _make_link(self, path: Path) -> None:
        if path.is_symlink():
            path.unlink()  # a link left by an earlier run
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.symlink_to(self.tty_path)
        except OSError:
            self._close_fds()
            raise

    def start(self, on_receive: ReceiveCallback, name: str = "pty-link") -> None:
        """Start the reader thread that hands every chunk the driver writes to ``on_receive``."""
        if self._thread is not None:
            raise RuntimeError("link already started")
        self._thread = threading.Thread(
            target=self._read_loop, args=(on_receive,), name=name, daemon=True
        )
        self._thread.start()

    def write(self, data: bytes, *, baud: int | None = None) -> None:
        """Send ``data`` to the driver; with ``baud``, first wait its wire time."""
        if baud:
            time.sleep(wire_time(len(data), baud))
        with self._write_lock:
            if self._closed:
                return
            view = memoryview(data)
            while view:
                written = os.write(self._master, view)
                view = view[written:]

    def line_baud(self) -> int | None:
        """The baud the driver's end set on the port (``None``: a speed not in the
        standard table, or the pty is gone). A pty carries bytes whatever the speed; an
        emulated board that must not hear a master at another speed asks this."""
        try:
            speed = termios.tcgetattr(self._slave)[4]
        except (termios.error, OSError):
            return None
        return _SPEEDS.get(speed)

    @staticmethod
    def pace(nbytes: int, baud: int, since: float) -> None:
        """Sleep until ``nbytes`` that started arriving at ``since`` would be complete."""
        remaining = since + wire_time(nbytes, baud) - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)

    def close(self) -> None:
        """Stop the reader, close both ends, remove the symlink. Idempotent."""
        with self._write_lock:
            if self._closed:
                return
            self._closed = True
        os.write(self._wake_w, b"x")
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(2.0)
        if self.link_path is not None:
            with contextlib.suppress(OSError):
                if self.link_path.is_symlink():
                    self.link_path.unlink()
        self._close_fds()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _close_fds(self) -> None:
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> PtyLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read_loop(self, on_receive: ReceiveCallback) -> None:
        while True:
            try:
                ready, _, _ = select.select([self._master, self._wake_r], [], [])
                if self._wake_r in ready:
                    return
                data = os.read(self._master, _READ_SIZE)
            except (OSError, ValueError):
                return  # the pty is gone
            if not data:
                return
            try:
                on_receive(data, time.monotonic())
            except Exception:
                # One bad request must not deafen the emulated bus for good.
                log.exception("pty link %s: receive handler failed", self.device)
