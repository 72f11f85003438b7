r"""The wire trace: every frame a traced board sends and receives, in a bounded file.

Off by default. The daemon makes one :class:`WireTrace` (its file, its size cap) and
:func:`install`\ s it; a technician then switches it on for one board at a time
(:meth:`WireTrace.start`). :class:`~drivers.shared_port.SharedPort`, the one place every
byte of a Kerong or Modbus bus passes, hands it what a board holding the bus writes and
reads (:meth:`WireTrace.record`): one line per frame out and one per reply in (the
chunks of a reply joined), each with the wall-clock time, the board and the port::

    2026-12-06T09:14:20.123456+00:00 top /dev/ttyUSB0 > 02 00 30 03 35
    2026-12-06T09:14:20.131002+00:00 top /dev/ttyUSB0 < 02 00 35 FE FF 00 00 03 37
    2026-12-06T09:14:20.233990+00:00 top /dev/ttyUSB0 < (nothing)

What a caller may rely on:

* The file never grows past ``max_bytes``: a line that would carry it past is written
  to a new file, after the current one became ``<file>.1`` (``<file>.2`` ...; ``keep``
  of them, the oldest dropped). So the trace holds at most ``(keep + 1) * max_bytes``.
* The file and its rotations are mode 0600 (and a symlink in their place is refused).
* Only boards switched on are written; a board that is not is one set lookup per frame.
* No pickup code can be in it. The bytes on a board's bus are lock numbers, addresses,
  sensor bits and register values: the kiosk checks a code against its HMAC and hands a
  driver only the lock to fire, so no code ever reaches a driver, let alone a wire. And
  nothing but a board's bus passes the shared port: a barcode scanner reads its own port
  (``drivers/scanner``), which the config check refuses to share with a board.
* Writing never raises into a driver: a trace that cannot be written switches itself off
  and keeps the reason (:attr:`WireTrace.error`).
"""

from __future__ import annotations

import contextlib
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["IN", "OUT", "WireTrace", "current", "install"]

OUT, IN = ">", "<"
_NOTHING = "(nothing)"


class WireTrace:
    """One trace file with its cap, and the boards it is on for."""

    def __init__(self, path: Path, max_bytes: int, keep: int = 1) -> None:
        if max_bytes < 256 or keep < 1:
            raise ValueError("a wire trace needs max_bytes >= 256 and keep >= 1")
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep
        self.error: str | None = None
        self._boards: frozenset[str] = frozenset()
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._size = 0

    # -- switched on and off per board -------------------------------------------------

    @property
    def boards(self) -> frozenset[str]:
        """The boards traced now."""
        return self._boards

    def wants(self, board: str | None) -> bool:
        """Whether frames of ``board`` are written."""
        return board in self._boards

    def start(self, board: str, note: str = "") -> None:
        """Trace ``board`` from now on; ``note`` goes into the file's line that says so."""
        with self._lock:
            self.error = None
            self._boards = self._boards | {board}
            self._write_line(f"{_now()} # trace on for board {board}{note}\n")

    def stop(self, board: str, note: str = "") -> None:
        """Stop tracing ``board`` (nothing happens if it was not traced)."""
        with self._lock:
            if board not in self._boards:
                return
            self._boards = self._boards - {board}
            self._write_line(f"{_now()} # trace off for board {board}{note}\n")
            if not self._boards:
                self._close()

    def close(self) -> None:
        """Every board off, the file closed. Idempotent."""
        with self._lock:
            self._boards = frozenset()
            self._close()

    # -- frames -------------------------------------------------------------------------

    def record(self, board: str, port: str, direction: str, data: bytes, at: datetime) -> None:
        """One frame of ``board`` on ``port``: ``direction`` :data:`OUT` or :data:`IN`,
        ``data`` empty for a reply that did not come."""
        if board not in self._boards:
            return
        shown = data.hex(" ").upper() if data else _NOTHING
        line = f"{at.isoformat(timespec='microseconds')} {board} {port} {direction} {shown}\n"
        with self._lock:
            if board in self._boards:
                self._write_line(line)

    def size(self) -> int:
        """The current file's size in bytes (0 when it is not open)."""
        with self._lock:
            return self._size if self._fd is not None else 0

    # -- the file -----------------------------------------------------------------------

    def _write_line(self, line: str) -> None:
        data = line.encode()
        try:
            if self._fd is None:
                self._open()
            if self._size + len(data) > self.max_bytes and self._size > 0:
                self._rotate()
            assert self._fd is not None
            os.write(self._fd, data[: self.max_bytes])
            self._size += min(len(data), self.max_bytes)
        except OSError as exc:
            self.error = f"{self.path}: {exc.strerror or exc}"
            self._boards = frozenset()  # a trace that cannot be written is off
            self._close()

    def _open(self) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, flags, 0o600)
        os.fchmod(fd, 0o600)  # a file left by an earlier run may have been made wider
        self._fd = fd
        self._size = os.fstat(fd).st_size

    def _rotate(self) -> None:
        self._close()
        for n in range(self.keep, 1, -1):
            older = self._rotated(n - 1)
            if older.exists():
                os.replace(older, self._rotated(n))
        os.replace(self.path, self._rotated(1))
        self._open()

    def _rotated(self, n: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{n}")

    def _close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


_CURRENT: WireTrace | None = None


def install(trace: WireTrace | None) -> None:
    """Make ``trace`` the one the shared ports write to (``None``: none)."""
    global _CURRENT
    _CURRENT = trace


def current() -> WireTrace | None:
    """The installed trace, if any."""
    return _CURRENT


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")
