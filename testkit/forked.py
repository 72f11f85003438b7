"""A child of the test's process that holds a copy of every descriptor the process has,
as a child does between its fork and its exec."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


@contextlib.contextmanager
def a_child_holding_every_descriptor() -> Iterator[None]:
    """While the block runs, a forked child waits (before any exec) with copies of
    every descriptor open at the fork; it exits when the block ends."""
    wake_r, wake_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: nothing but a wait, as the parent's threads are not here
        os.read(wake_r, 1)
        os._exit(0)
    os.close(wake_r)
    try:
        yield
    finally:
        os.write(wake_w, b"x")
        os.close(wake_w)
        os.waitpid(pid, 0)
