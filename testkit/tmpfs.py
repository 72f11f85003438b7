"""A small disk of its own for a test's data dir: a tmpfs the test mounts, fills and frees.

Mounting needs root (or CAP_SYS_ADMIN); where it is refused the test is skipped with the
reason, never passed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testkit.daemon import Daemon

CHUNK = 64 * 1024
SMALL_DISK_SECTIONS = {"policy": {"expiry_check_s": 0.2}, "storage": {"low_space_mb": 1}}
"""Housekeeping rounds (the disk's watch among them) every 0.2 s; a low-space mark below
what a small test disk has."""


@contextlib.contextmanager
def small_disk(path: Path, size_mb: int) -> Iterator[Path]:
    """``path`` (made if missing) as a tmpfs of ``size_mb``, unmounted at the end."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs for the data dir needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def fill(disk: Path, leave_bytes: int = 0) -> Path:
    """Take the disk's free space, all but ``leave_bytes``, with one file; returns it."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        while True:
            room = free_bytes(disk) - leave_bytes
            if room <= 0:
                break
            try:
                os.write(fd, b"\0" * min(CHUNK, room))
            except OSError:
                break  # ENOSPC: full to the last block
    finally:
        os.close(fd)
    return filler


def free_bytes(disk: Path) -> int:
    st = os.statvfs(disk)
    return st.f_bavail * st.f_frsize


@contextlib.contextmanager
def kiosk_on_a_small_disk(size_mb: int = 16, **config: Any) -> Iterator[Daemon]:
    """A daemon (not started) whose data dir is a tmpfs of ``size_mb``; the simulated
    bank's files and the recipients' inbox live beside it, on a disk with room."""
    root = Path(tempfile.mkdtemp(prefix="lk-", dir="/tmp"))
    files = root / "files"
    files.mkdir()
    try:
        with small_disk(root / "data", size_mb):
            config.setdefault("sections", SMALL_DISK_SECTIONS)
            daemon = Daemon(root, files_dir=files, **config)
            try:
                yield daemon
            finally:
                if daemon.proc is not None and daemon.proc.poll() is None:
                    daemon.proc.kill()
                    daemon.proc.wait(10)
    finally:
        shutil.rmtree(root, ignore_errors=True)
