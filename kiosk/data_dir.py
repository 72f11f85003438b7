"""The data dir: made 0700 wherever it is made (the daemon, ``locker-kiosk users``, ``sim``).

It holds the database, the kiosk key, the daemon's lock and, outside systemd, the API
socket; nobody but the kiosk's own user has anything to look for in it, not even a list
of its files. systemd makes ``/var/lib/locker-kiosk`` 0700 too (``StateDirectoryMode=``
and the tmpfiles line); the demo's throwaway one comes from :func:`tempfile.mkdtemp`,
which is 0700 as well.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

__all__ = ["DATA_DIR_MODE", "prepare_data_dir"]

log = logging.getLogger(__name__)

DATA_DIR_MODE = 0o700


def prepare_data_dir(path: Path) -> Path:
    """``path`` made if missing (0700; its parents as the umask says), and one of ours
    that group or others may enter narrowed to 0700, as earlier versions made it 0750.

    A dir another user owns is left as it is: its owner chose its mode.
    """
    path.mkdir(parents=True, exist_ok=True, mode=DATA_DIR_MODE)
    info = path.stat()
    if info.st_mode & 0o077 and info.st_uid == os.geteuid():
        path.chmod(DATA_DIR_MODE)
        log.info(
            "data dir %s was mode %04o; made it %04o",
            path,
            stat.S_IMODE(info.st_mode),
            DATA_DIR_MODE,
        )
    return path
