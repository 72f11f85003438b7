"""The ``[trace]`` section: where the wire trace goes and how large it may grow.

The trace itself is off until a technician switches it on for a board
(``lockerctl trace BOARD on``, :mod:`drivers.wire_trace`); this section only bounds
it. Its file is ``wire-trace.log`` in the data dir unless ``path`` says otherwise, at
most ``max_kib`` KiB, with ``keep`` older files beside it (``.1``, ``.2``...), so the
trace never takes more than ``(keep + 1) * max_kib`` KiB.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kiosk.config.check import Table

__all__ = ["TRACE_FILE", "TraceSection", "read_trace"]

TRACE_FILE = "wire-trace.log"


@dataclass(frozen=True)
class TraceSection:
    path: Path | None = None  # None: TRACE_FILE in the data dir
    max_kib: int = 1024
    keep: int = 1

    def file_in(self, data_dir: Path) -> Path:
        """The trace's file for a kiosk whose data dir is ``data_dir``."""
        return self.path if self.path is not None else data_dir / TRACE_FILE

    @property
    def max_bytes(self) -> int:
        return self.max_kib * 1024


def read_trace(t: Table, base: Path) -> TraceSection:
    text = t.get_str("path", "")
    section = TraceSection(
        path=base / text if text else None,
        max_kib=t.get_int("max_kib", 1024, minimum=4, maximum=102_400),
        keep=t.get_int("keep", 1, minimum=1, maximum=9),
    )
    if text.endswith("/"):
        t.problem("path", f"must name a file, not a directory: {text!r}")
    t.check_unknown()
    return section
