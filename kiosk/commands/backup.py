"""``locker-kiosk backup``: a consistent copy of the data dir, made while the kiosk runs.

A copy of ``kiosk.db`` with ``cp`` while the daemon writes can tear a transaction in
half (the WAL file holds the newest ones). SQLite's online backup reads a consistent
snapshot instead, beside the running daemon. The kiosk key goes with it: without the
key, no live pickup code and no badge would work after a restore.

What lands in the destination directory (mode 0700, files 0600)::

    kiosk.db       the database, whole (no -wal to go with it)
    kiosk.key      the per-kiosk key
    backup.json    when, which kiosk, which store and key (their fingerprint: a restore
                   takes both from one backup), which schema version, how many parcels
                   and events
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from kiosk.config import Config
from kiosk.errors import LockerError
from kiosk.store.base import StoreError
from kiosk.store.snapshot import snapshot


class BackupError(LockerError):
    """The backup could not be made; the message says why."""


def backup(config: Config, dest: Path) -> dict[str, Any]:
    """Copy the data dir of ``config`` into ``dest`` (created; must be empty)."""
    data_dir = config.kiosk.data_dir
    db, key = data_dir / "kiosk.db", data_dir / "kiosk.key"
    for needed in (db, key):
        if not needed.is_file():
            raise BackupError(f"nothing to back up: {needed} does not exist")
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} is not empty; give a new directory for the backup")
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    copy = dest / "kiosk.db"
    _create_private(copy)
    try:
        summary = snapshot(db, copy)
    except StoreError as exc:
        raise BackupError(str(exc)) from exc
    _create_private(dest / "kiosk.key")
    shutil.copyfile(key, dest / "kiosk.key")
    manifest = {
        "kiosk": config.kiosk.id,
        "made_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "from": str(data_dir),
        **summary,
    }
    _create_private(dest / "backup.json")
    (dest / "backup.json").write_text(json.dumps(manifest, indent=2) + "\n")
    for name in ("kiosk.db", "kiosk.key", "backup.json"):
        _fsync(dest / name)
    _fsync(dest)
    return manifest


def _create_private(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
