"""The simulated recipients' inbox (the ``file`` notification back end), read as it grows."""

from __future__ import annotations

import json
from pathlib import Path


class Inbox:
    """New pickup codes since the last look, by barcode; reads only what was appended
    (the inbox of a long run is large) and never a line still being written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0

    def new_codes(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        with self.path.open("rb") as f:
            f.seek(self._offset)
            chunk = f.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._offset += len(complete)
        codes = {}
        for line in complete.splitlines():
            message = json.loads(line)
            if message["kind"] == "parcel_stored":
                codes[message["payload"]["barcode"]] = str(message["payload"]["code"])
        return codes
