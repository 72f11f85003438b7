"""The data dir: made 0700 wherever it is made, and opened only where its database, its
key and its mark belong together.

It holds the database, the kiosk key, the mark, the daemon's lock and, outside systemd,
the API socket; nobody but the kiosk's own user has anything to look for in it, not even
a list of its files. systemd makes ``/var/lib/locker-kiosk`` 0700 too
(``StateDirectoryMode=`` and the tmpfiles line); the demo's throwaway one comes from
:func:`tempfile.mkdtemp`, which is 0700 as well.

The three files (docs/operations.md, "What goes where")::

    kiosk.db    the store; records its identity: a store id, the kiosk id of the config
                that made it, and the fingerprint of its key (kiosk/store/identity.py)
    kiosk.key   the key its pickup codes and badges are made with (kiosk/access/codes.py)
    kiosk.mark  how far the store had got (kiosk/store/mark.py); that it exists also says
                this kiosk has run here

The rules, in order. A refusal is a :class:`DataDirRefused` (``locker-kiosk`` exits with
status 2, which the systemd unit does not restart) naming the file and the way back:
a restore from ``locker-kiosk backup``, or ``locker-kiosk reinit`` with an option that
says what it gives up (:mod:`kiosk.commands.reinit`). A refusal writes nothing.

1. ``kiosk.db`` missing or empty: where the key or the mark is there, this kiosk has run
   here and the database is lost: refused (an empty kiosk would hand out compartments
   with parcels inside). Else a first start: a new database with its identity, then a
   new key (in that order, so a start cut short leaves nothing that looks lost).
2. The database was made for another kiosk id than the config's: refused.
3. The key file is missing: refused if any live pickup code or badge was made with the
   lost key; else a new key is made and bound, with a warning.
4. The key is not the database's (another fingerprint): refused, whatever it holds.
5. A database from before identities: its identity is recorded with the key that is
   there.

The mark is compared with the store only once the compartments are in it
(:func:`check_against_mark`, at the daemon's start).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.access.codes import create_key, key_fingerprint, load_key
from kiosk.config import Config
from kiosk.protocol.events import EventKind, Severity
from kiosk.reasons import CheckReason
from kiosk.store import Event, Store
from kiosk.store.base import StoreFull, StoreRefused
from kiosk.store.identity import Identity
from kiosk.store.mark import Mark, MarkKeeper, MarkUnreadable, read_mark

__all__ = [
    "DATA_DIR_MODE",
    "DataDir",
    "DataDirRefused",
    "Opened",
    "behind_mark",
    "check_against_mark",
    "keep_mark_offline",
    "new_database",
    "open_data_dir",
    "prepare_data_dir",
]

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


RESTORE = 'restore it from a backup (made by locker-kiosk backup; docs/operations.md, "Restore")'
FORGET = "--forget-stored-parcels"
VOID = "--void-pickup-codes"


class DataDirRefused(StoreRefused):
    """The database and key do not belong together, or one of them is lost.
    ``problem``: ``database_lost``, ``other_kiosk``, ``key_lost`` or ``key_swapped``."""

    def __init__(self, message: str, problem: str) -> None:
        super().__init__(message)
        self.problem = problem


@dataclass(frozen=True)
class DataDir:
    root: Path

    @property
    def db(self) -> Path:
        return self.root / "kiosk.db"

    @property
    def key(self) -> Path:
        return self.root / "kiosk.key"

    @property
    def mark(self) -> Path:
        return self.root / "kiosk.mark"

    def db_is_lost(self) -> bool:
        """No database, or an empty file where it should be."""
        try:
            return self.db.stat().st_size == 0
        except FileNotFoundError:
            return True


@dataclass
class Opened:
    """A data dir whose database and key belong together."""

    key: bytes
    store: Store
    mark: Mark | None  # as found before this start: what the store is compared with
    mark_error: str | None = None  # the mark was there but could not be read


def open_data_dir(config: Config, listeners: Sequence[Callable[[Event], None]] = ()) -> Opened:
    """Open the data dir of ``config`` by the rules above. ``listeners`` hear every event
    from the first one on. Raises :class:`DataDirRefused` (or, from the files' own
    checks, :class:`~kiosk.store.base.StoreRefused`, :class:`~kiosk.access.codes.KeyFileError`)."""
    paths = DataDir(config.kiosk.data_dir)
    mark, mark_error = _previous_mark(paths)
    if paths.db_is_lost():
        _refuse_if_run_before(config, paths, mark, mark_error)
        return Opened(*new_database(config, listeners), mark, mark_error)
    store = Store(paths.db)
    store.listeners.extend(listeners)
    try:
        key = _bind(config, paths, store)
    except BaseException:
        store.close()
        raise
    return Opened(key, store, mark, mark_error)


def _previous_mark(paths: DataDir) -> tuple[Mark | None, str | None]:
    try:
        return read_mark(paths.mark), None
    except MarkUnreadable as exc:
        return None, str(exc)


def _refuse_if_run_before(
    config: Config, paths: DataDir, mark: Mark | None, mark_error: str | None
) -> None:
    seen = []
    if mark is not None:
        seen.append(f"{paths.mark.name} records {mark.seq} events of kiosk {mark.kiosk}")
    elif mark_error is not None:
        seen.append(f"{paths.mark.name} is there")
    if paths.key.exists():
        seen.append(f"{paths.key.name} is there")
    if not seen:
        return
    what = "is missing" if not paths.db.exists() else "is empty (0 bytes)"
    raise DataDirRefused(
        f"the database {paths.db} {what}, but this kiosk has run here before "
        f"({'; '.join(seen)}): an empty database would hand out compartments with "
        f"parcels inside. {RESTORE.capitalize()}; or, with no backup, start a new database "
        f"in which every compartment waits for a technician's check: "
        f"{reinit_command(config, FORGET)}",
        "database_lost",
    )


def new_database(
    config: Config, listeners: Sequence[Callable[[Event], None]] = ()
) -> tuple[bytes, Store]:
    """A new database with its identity, bound to the key in the data dir (made now if
    there is none): at a first start, and by ``reinit --forget-stored-parcels``."""
    paths = DataDir(config.kiosk.data_dir)
    store = Store(paths.db)
    store.listeners.extend(listeners)
    try:
        store.record_identity(config.kiosk.id, None, new=True)
        key = load_key(paths.key) or create_key(paths.key)
        store.bind_key(key_fingerprint(key), None)
    except BaseException:
        store.close()
        raise
    return key, store


def _bind(config: Config, paths: DataDir, store: Store) -> bytes:
    """The key of ``store``, checked or (when nothing needs the lost one) made."""
    identity = store.identity()
    if identity is not None and identity.kiosk != config.kiosk.id:
        raise DataDirRefused(
            f"the database {paths.db} belongs to kiosk {identity.kiosk}, but {config.path} "
            f"is the config of kiosk {config.kiosk.id}: put this kiosk's own database there "
            f"({RESTORE}); or, with no backup of it, start a new database in which every "
            f"compartment waits for a technician's check: {reinit_command(config, FORGET)}",
            "other_kiosk",
        )
    key = load_key(paths.key)
    if key is None:
        return _replace_lost_key(config, paths, store, identity)
    fingerprint = key_fingerprint(key)
    if identity is None or identity.key_fingerprint is None:
        _record_when_there_is_room(config, store, identity, fingerprint)
    elif identity.key_fingerprint != fingerprint:
        raise DataDirRefused(
            f"the kiosk key {paths.key} does not belong to the database {paths.db} (the "
            f"database was made with key {identity.key_fingerprint[:12]}…, this file is key "
            f"{fingerprint[:12]}…): with it {store.bound_to_key()} would be wrong. Put back "
            f"the key that came with this database (a backup holds both; docs/operations.md, "
            f'"Restore"); or, if it is lost for good, make a new key, send every recipient a '
            f"new code and remove the badges: {reinit_command(config, VOID)}",
            "key_swapped",
        )
    return key


def _record_when_there_is_room(
    config: Config, store: Store, identity: Identity | None, fingerprint: str
) -> None:
    """An older database's identity, or the key of a first start cut short before it,
    recorded; on a full disk at a later start (the kiosk must start on a full disk)."""
    try:
        if identity is None:
            store.record_identity(config.kiosk.id, fingerprint, new=False)
        else:
            store.bind_key(fingerprint, None)
    except StoreFull:
        log.warning("the database's identity is recorded at a start with room on the disk")


def _replace_lost_key(
    config: Config, paths: DataDir, store: Store, identity: Identity | None
) -> bytes:
    bound = store.bound_to_key()
    if bound:
        raise DataDirRefused(
            f"the kiosk key {paths.key} is missing, but the database {paths.db} holds "
            f"{bound} made with it: a new key would make every one of them wrong. Put the "
            f"key back ({RESTORE}); or, if it is lost for good, make a new key, send every "
            f"recipient a new code and remove the badges: {reinit_command(config, VOID)}",
            "key_lost",
        )
    key = create_key(paths.key)
    fingerprint = key_fingerprint(key)
    if identity is None:
        store.record_identity(config.kiosk.id, fingerprint, new=False)
    else:
        store.bind_key(fingerprint, "the key file was missing; no code or badge needed it")
    log.warning("the kiosk key %s was missing; a new one was made", paths.key)
    return key


def reinit_command(config: Config, option: str) -> str:
    """The command line a refusal offers (a data dir given with --data-dir is named in
    the message's paths; the operator adds it to the command as well)."""
    return f"locker-kiosk reinit --config {config.path} {option}"


# -- the store against its mark ---------------------------------------------------------


def behind_mark(store: Store, mark: Mark) -> str | None:
    """Why ``store`` has lost something its mark recorded, or None when it is the mark's
    own history, as far or further: ``behind`` (fewer events), ``other_history`` (the
    mark's last event is not this one), ``other_database`` (another store id)."""
    identity = store.identity()
    if identity is None or identity.store != mark.store:
        return "other_database"
    seq, _ = store.last_event()
    if seq < mark.seq:
        return "behind"
    if store.event_hash(mark.seq) != mark.hash:
        return "other_history"
    return None


def check_against_mark(
    store: Store,
    mark: Mark | None,
    mark_error: str | None,
    flag: Callable[..., object] | None = None,
) -> list[str]:
    """At start, once the compartments are in the store: where the store has lost what
    its mark recorded, an alarm (``store_behind``) and a check for every compartment
    whose contents differ, through ``flag(cid, reason, **detail)`` (default: the store's
    own; the daemon's holds a check a full disk did not let be written). Their ids."""
    flag_check = flag or store.flag_for_check
    if mark_error is not None:
        store.log_event(EventKind.MARK_UNREADABLE, Severity.WARNING, None, None, error=mark_error)
    why = behind_mark(store, mark) if mark is not None else None
    if mark is None or why is None:
        return []
    now = store.occupancy()
    known = {row.id for row in store.compartments()}
    differ = sorted(
        cid for cid in (set(mark.compartments) | set(now)) & known
        if _contents(mark.compartments.get(cid)) != _contents(now.get(cid))
    )  # fmt: skip
    seq, _ = store.last_event()
    store.log_event(EventKind.STORE_BEHIND, Severity.ALARM, None, None, why=why, mark_seq=mark.seq,
                    store_seq=seq, compartments=differ)  # fmt: skip
    for cid in differ:
        flag_check(cid, CheckReason.STORE_BEHIND, recorded=_contents(mark.compartments.get(cid)),
             stored=_contents(now.get(cid)))  # fmt: skip
    return differ


def _contents(entry: dict[str, Any] | None) -> dict[str, Any]:
    entry = entry or {}
    return {k: entry.get(k) for k in ("parcel", "barcode", "op")}


def keep_mark_offline(opened: Opened, config: Config) -> MarkKeeper | None:
    """The mark kept by a command that works on the data dir without the daemon
    (``users``, ``reinit``). None while the store is behind its mark: that is for the
    daemon's start to compare, and a new mark now would hide what was lost."""
    if opened.mark is not None and behind_mark(opened.store, opened.mark) is not None:
        return None
    if opened.mark_error is not None:
        return None
    keeper = MarkKeeper(opened.store, DataDir(config.kiosk.data_dir).mark)
    keeper.write_now()
    return keeper
