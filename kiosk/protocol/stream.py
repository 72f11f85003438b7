"""The event stream's message kinds: the ``type`` of every message on ``/v1/stream``.

Declared once: the daemon publishes with them and a front end tells messages apart
with them. A ``StrEnum``, so a kind compares equal to the string on the wire.
"""

from __future__ import annotations

from enum import StrEnum


class StreamKind(StrEnum):
    EVENT = "event"  # an event of the log, as ``GET /v1/events`` shows it
    DOOR = "door"  # a door's sensor changed: ``compartment``, ``door``
    BOARD = "board"  # a board went on or off line: ``board``, ``online``, ``error``
    OPERATION = "operation"  # a door operation moved on: ``kind``, ``operation``, ...
    JOB = "job"  # a technician's job made progress or ended
    STORAGE = "storage"  # the disk's state changed: ``state``
    SCAN = "scan"  # the kiosk's scanner read ``text`` (the touchscreen's stream only)
    CLOSED = "closed"  # the daemon is stopping: the stream ends


__all__ = ["StreamKind"]
