"""The kiosk's mark: how far its database had got, kept in a file beside it.

``kiosk.mark`` in the data dir (JSON, mode 0600) holds the store's identity, the newest
event's sequence number and hash, and what each compartment held (its parcel and any
door operation under way). It is rewritten a moment after every transaction that
logged an event, and at stop. Its existence also says that this kiosk has run here.

Why a file outside the database: a database that lost its last transactions (a
write-ahead log torn by a power cut on an SD card that acknowledged writes it had not
made, a database restored from a backup, a copy of ``kiosk.db`` without its ``-wal``)
looks whole to SQLite. The mark is written only after the database committed, so it is
never ahead of a database that kept what it committed: a database found *behind* its
mark (or on another history) has lost something, and the compartments whose contents
differ are the ones to check (:mod:`kiosk.daemon.data_dir`).

It is replaced atomically (a new file renamed over the old one) and not synced: after a
power cut it may be older than the database, which is safe (nothing is compared then),
or unreadable, which is said in an event. It never claims more than was committed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kiosk.errors import LockerError
from kiosk.store.eventlog import Event
from kiosk.store.identity import IdentityMixin

log = logging.getLogger(__name__)

FORMAT = 1
# How long after a commit the mark is rewritten: commits close together (a door
# operation's, a burst of requests) share one write, off the path of the request.
WRITE_DELAY_S = 0.05


class MarkUnreadable(LockerError):
    """The mark file exists but cannot be read (torn by a power cut, edited by hand)."""


@dataclass(frozen=True)
class Mark:
    store: str
    kiosk: str
    key_fingerprint: str | None
    seq: int
    hash: str
    written_at: float
    compartments: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, **asdict(self)}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Mark:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("not a kiosk mark of format 1")
        comps = data["compartments"]
        if not isinstance(comps, dict) or not all(isinstance(v, dict) for v in comps.values()):
            raise ValueError("compartments is not a table of compartments")
        return cls(str(data["store"]), str(data["kiosk"]), data["key_fingerprint"],
                   int(data["seq"]), str(data["hash"]), float(data["written_at"]),
                   comps)  # fmt: skip


def read_mark(path: Path) -> Mark | None:
    """The mark at ``path``; None when there is none. Raises :class:`MarkUnreadable`."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise MarkUnreadable(f"cannot read the kiosk's mark {path}: {exc}") from exc
    try:
        return Mark.from_json(text)
    except (ValueError, KeyError, TypeError) as exc:
        raise MarkUnreadable(f"the kiosk's mark {path} is damaged ({exc})") from exc


def mark_of(store: IdentityMixin) -> Mark | None:
    """The mark of ``store`` as it is now; None while it has no identity (an older
    database whose identity a full disk has not let be recorded yet)."""
    identity = store.identity()
    if identity is None:
        return None
    seq, digest = store.last_event()
    return Mark(identity.store, identity.kiosk, identity.key_fingerprint, seq, digest,
                store.clock(), store.occupancy())  # fmt: skip


def write_mark(path: Path, mark: Mark) -> None:
    """Replace the mark at ``path`` atomically (mode 0600)."""
    new = path.with_name(path.name + ".new")
    fd = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, mark.to_json().encode())
    finally:
        os.close(fd)
    os.replace(new, path)


class MarkKeeper:
    """Keeps the mark of one store up to date: a moment after each transaction that
    logged events (a store listener), and at :meth:`write_now`.

    With a loop (the daemon), the mark is taken from the store on the loop and written
    by a thread of its own: replacing a file costs the loop nothing then (on a busy SD
    card or virtual disk a rename over a file can take milliseconds, as ext4 pushes the
    new file's data out first). That thread only ever writes the newest mark taken, and
    touches no kiosk state. Without a loop (an offline command), each write is at once.
    """

    def __init__(
        self,
        store: IdentityMixin,
        path: Path,
        loop: asyncio.AbstractEventLoop | None = None,
        hold: Callable[[], bool] = lambda: False,
    ) -> None:
        """``hold()`` true: leave the mark as it is (what it records is still needed:
        checks found at start that a full disk has not let be written)."""
        self.store = store
        self.path = path
        self._loop = loop
        self._hold = hold
        self._failing = False
        self._pending: asyncio.TimerHandle | None = None
        self._writer = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-mark") if loop else None
        )
        self._lock = threading.Lock()
        self._newest: Mark | None = None  # taken on the loop, not written yet
        store.listeners.append(self._committed)

    def _committed(self, event: Event) -> None:
        if self._loop is None:
            self.write_now()
        elif self._pending is None:
            self._pending = self._loop.call_later(WRITE_DELAY_S, self._hand_over)

    def _hand_over(self) -> None:
        """On the loop: take the mark now, for the writer thread."""
        self._pending = None
        mark = None if self._hold() else mark_of(self.store)
        if mark is None:
            return
        with self._lock:
            waiting, self._newest = self._newest is not None, mark
        if not waiting and self._writer is not None:
            self._writer.submit(self._write_newest)

    def _write_newest(self) -> None:
        """On the writer thread."""
        with self._lock:
            mark, self._newest = self._newest, None
        if mark is not None:
            self._write(mark)

    def write_now(self) -> None:
        """Write the mark now, on this thread (and drop a write that was waiting)."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        with self._lock:
            self._newest = None
        mark = None if self._hold() else mark_of(self.store)
        if mark is not None:
            self._write(mark)

    def _write(self, mark: Mark) -> None:
        try:
            write_mark(self.path, mark)
        except OSError as exc:
            # A full disk must not stop the kiosk: the mark is a second line of defence,
            # and an old mark is never wrong, only less telling. Said once, not per commit.
            if not self._failing:
                log.warning("cannot write the kiosk's mark %s: %s", self.path, exc)
            self._failing = True
            return
        if self._failing:
            log.info("the kiosk's mark %s is written again", self.path)
        self._failing = False

    def close(self) -> None:
        """Write the last mark (after any the writer thread has in hand) and stop."""
        if self._committed in self.store.listeners:
            self.store.listeners.remove(self._committed)
        if self._writer is not None:
            self._writer.shutdown(wait=True)
        self.write_now()
