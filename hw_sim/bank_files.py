"""What a simulated bank keeps on disk: its state file, its fire log and its door log.

What a caller may rely on:

* The state file holds each compartment's physical state (doors, items, latches, jams,
  leave-open). It is written atomically (write, then rename): a reader, or a restart
  after ``kill -9``, finds the old file or the new one, never half of one. An unreadable
  file is logged and treated as none: the bank starts fresh.
* The fire log gets one line per fire, ``<wall time> <board> <lock> <compartment>``,
  opened and closed per line, so each line is in the OS's hands before the pulse is
  applied and survives a ``kill -9`` of the process.
* The door log, ``sim-doors.log`` beside the fire log, gets one line per door opening
  or closing, ``<wall time> <compartment> opened|closed item=0|1``: the bank's own
  history, written the same way (crash checks compare the daemon's journal with it).
* Without a path, each is skipped (no fire log: no door log either).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["DOOR_LOG", "BankFiles", "write_atomically"]

log = logging.getLogger(__name__)

_STATE_VERSION = 1
DOOR_LOG = "sim-doors.log"


class BankFiles:
    """The state file, fire log and door log of one bank; each may be ``None``."""

    def __init__(self, state_file: str | Path | None, fire_log: str | Path | None) -> None:
        self.state_file = Path(state_file) if state_file else None
        self.fire_log = Path(fire_log) if fire_log else None
        self.door_log = self.fire_log.with_name(DOOR_LOG) if self.fire_log else None

    def load(self) -> dict[str, dict[str, Any]]:
        """``{compartment id: saved state}`` from the state file; empty without one."""
        if self.state_file is None or not self.state_file.exists():
            return {}
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
            compartments = data["compartments"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("sim state file %s unreadable, starting fresh: %s", self.state_file, exc)
            return {}
        return {str(k): v for k, v in compartments.items() if isinstance(v, dict)}

    def save(self, compartments: Mapping[str, Mapping[str, Any]]) -> None:
        """Replace the state file's content (best effort: a failure is logged)."""
        if self.state_file is None:
            return
        text = json.dumps({"version": _STATE_VERSION, "compartments": compartments}, indent=1)
        try:
            write_atomically(self.state_file, text)
        except OSError as exc:
            log.warning("sim state not saved to %s: %s", self.state_file, exc)

    def log_fire(self, board: str, lock: int, cid: str) -> None:
        """Append one fire to the fire log."""
        if self.fire_log is None:
            return
        with self.fire_log.open("a", encoding="utf-8") as f:
            f.write(f"{time.time():.3f} {board} {lock} {cid}\n")

    def log_door(self, cid: str, is_open: bool, item: bool) -> None:
        """Append one door opening or closing to the door log."""
        if self.door_log is None:
            return
        what = "opened" if is_open else "closed"
        with self.door_log.open("a", encoding="utf-8") as f:
            f.write(f"{time.time():.3f} {cid} {what} item={int(item)}\n")


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` by write-then-rename. No fsync: this guards against a
    crash of the process, not of the machine."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
