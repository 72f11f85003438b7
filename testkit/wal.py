"""A torn write-ahead log, as a power cut leaves it on storage that acknowledged writes it
had not made: the last commits are gone, and SQLite opens what is left without a word.

Reads SQLite's WAL format (https://www.sqlite.org/fileformat2.html#walformat): a 32-byte
header (page size at offset 8, salts at 16) and frames of a 24-byte header (the database
size after the commit at offset 4, non-zero only on a commit's last frame; the salts at
8) followed by one page. Frames with other salts are left over from before a checkpoint.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

HEADER = 32
FRAME_HEADER = 24


def wal_commits(path: Path) -> list[int]:
    """The file offset just after each commit in the WAL (oldest first)."""
    data = path.read_bytes() if path.exists() else b""
    if len(data) < HEADER:
        return []
    page_size = struct.unpack(">I", data[8:12])[0] or 65536
    salts = data[16:24]
    ends: list[int] = []
    offset = HEADER
    while offset + FRAME_HEADER + page_size <= len(data):
        frame = data[offset : offset + FRAME_HEADER]
        if frame[8:16] != salts:
            break
        offset += FRAME_HEADER + page_size
        if struct.unpack(">I", frame[4:8])[0]:
            ends.append(offset)
    return ends


def tear_wal(path: Path, keep: int) -> int:
    """Cut the WAL right after its first ``keep`` commits; returns how many were lost."""
    ends = wal_commits(path)
    assert len(ends) > keep, f"the WAL holds {len(ends)} commits, not more than {keep}"
    os.truncate(path, ends[keep - 1] if keep else HEADER)
    return len(ends) - keep
