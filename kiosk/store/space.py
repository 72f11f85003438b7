"""The database on a full disk: how it is still read when nothing can be written.

SQLite in WAL mode needs two files beside the database to read it: the write-ahead log
and its index (``-shm``). A daemon that stopped cleanly removed both, and on a full disk
they cannot be made again (``SQLITE_IOERR_SHMSIZE``), not even to read. Such a database
holds everything in its main file (the log was copied in before it was removed), so it
is opened *immutable*, read-only and without the two files, until there is room again.
A database left with its log (a crash) still has its index and opens as usual; only its
writes fail (``SQLITE_FULL``).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

FULL_BELOW_BYTES = 1024 * 1024
"""A disk with less free space than this counts as full when SQLite cannot open a file
on it; the same much is needed before the kiosk tries to write again."""

_FULL_ERRORS = {"SQLITE_FULL", "SQLITE_IOERR_SHMSIZE", "SQLITE_IOERR_SHMOPEN",
                "SQLITE_IOERR_WRITE", "SQLITE_IOERR_TRUNCATE", "SQLITE_CANTOPEN"}  # fmt: skip


def free_bytes(path: Path) -> int:
    """Free space for the daemon on the file system holding ``path`` (a directory)."""
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def total_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_blocks * st.f_frsize


def is_full_error(exc: sqlite3.Error, db: Path) -> bool:
    """``exc`` came from a full disk: SQLite says so, or it could not make or grow a file
    on a disk that has (almost) no room left."""
    name = getattr(exc, "sqlite_errorname", "")
    if name == "SQLITE_FULL":
        return True
    try:
        return name in _FULL_ERRORS and free_bytes(db.parent) < FULL_BELOW_BYTES
    except OSError:
        return False


def has_unread_log(db: Path) -> bool:
    """A write-ahead log with content but no index beside it: what it holds is not in the
    main file, and an immutable reader would not see it."""
    wal, shm = Path(f"{db}-wal"), Path(f"{db}-shm")
    try:
        return wal.stat().st_size > 0 and not shm.exists()
    except FileNotFoundError:
        return False


def open_immutable(db: Path) -> sqlite3.Connection:
    """The database read-only, as it is in its main file, with no file made beside it."""
    conn = sqlite3.connect(f"file:{db}?immutable=1", uri=True, isolation_level=None)
    conn.row_factory = sqlite3.Row
    return conn
