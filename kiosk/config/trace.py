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
from typing import Annotated

from pydantic import BeforeValidator, Field

from kiosk.config.schema import SECTION, Int, OptionalFile

__all__ = ["TRACE_FILE", "TraceSection"]

TRACE_FILE = "wire-trace.log"


def _a_file(value: object) -> object:
    if isinstance(value, str) and value.endswith("/"):
        raise ValueError(f"must name a file, not a directory: {value!r}")
    return value


@dataclass(frozen=True)
class TraceSection:
    """The wire trace: every frame a board sends and receives, for a technician finding
    out what a board does (docs/hardware.md). Off until switched on for one board at a
    time (lockerctl trace BOARD on); this only says where it goes and bounds it. The file
    is mode 0600; it holds no pickup code (no code ever reaches a board's bus)."""

    __pydantic_config__ = SECTION

    path: Annotated[
        Annotated[OptionalFile, BeforeValidator(_a_file)],
        Field(description='"" = wire-trace.log in the data dir'),
    ] = None
    max_kib: Annotated[
        Int,
        Field(ge=4, le=102_400, description="the file's size cap in KiB; then it is rotated ..."),
    ] = 1024
    keep: Annotated[
        Int, Field(ge=1, le=9, description="... keeping this many older files (.1, .2 ...)")
    ] = 1

    def file_in(self, data_dir: Path) -> Path:
        """The trace's file for a kiosk whose data dir is ``data_dir``."""
        return self.path if self.path is not None else data_dir / TRACE_FILE

    @property
    def max_bytes(self) -> int:
        return self.max_kib * 1024
