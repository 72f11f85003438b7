"""A wall clock a test can step, inside a real daemon process.

``python -m testkit.wallclock OFFSET_FILE ARGS...`` runs ``locker-kiosk ARGS...``
with :func:`time.time` and :func:`time.time_ns` reading the real wall clock plus the
seconds written in ``OFFSET_FILE`` (missing: 0), read again whenever the file changes.
The monotonic clocks are left alone, as when a time server, an administrator or a Pi
without a battery clock steps the system clock. The patch is made before the kiosk is
imported, so every default ``clock=time.time`` sees it.

libfaketime would do the same from outside the process, but with the monotonic clocks
left alone its ``clock_nanosleep`` makes every :func:`time.sleep` fail with EINVAL
(libfaketime 0.9.10, Debian 12), and the daemon's threads sleep.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


class SteppedWallClock:
    """The real wall clock plus an offset kept in a file (the test's side: :meth:`step`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int] | None = None
        self._offset = 0.0
        self._real_time = time.time

    def offset(self) -> float:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return 0.0
        if (st.st_mtime_ns, st.st_size) != self._seen:
            text = self.path.read_text().strip()
            self._offset = float(text) if text else 0.0
            self._seen = (st.st_mtime_ns, st.st_size)
        return self._offset

    def time(self) -> float:
        return self._real_time() + self.offset()

    def time_ns(self) -> int:
        return int(self.time() * 1e9)

    def set(self, seconds: float) -> None:
        """From the test: the daemon's wall clock reads ``seconds`` ahead of the real one
        (behind, if negative) from now on. Written whole, never half."""
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(repr(float(seconds)))
        os.replace(tmp, self.path)

    def install(self) -> None:
        time.time = self.time
        time.time_ns = self.time_ns


def main(argv: list[str]) -> int:
    SteppedWallClock(Path(argv[0])).install()
    from kiosk.commands.cli import main as kiosk_main

    return kiosk_main(argv[1:])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
