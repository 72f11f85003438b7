"""``locker-kiosk reinit``: start again where a backup cannot help, giving up only what
the option's name says. The daemon must be stopped; nothing is deleted (whatever is
replaced is moved into ``set-aside-<time>/`` in the data dir).

``--forget-stored-parcels``
    For a database that is lost (missing, empty), damaged, or another kiosk's. A new,
    empty database is made, bound to the kiosk key that is there (a new key when the
    old database was another kiosk's, as its key then is too). Every compartment needs
    a technician's check before it is handed out (``contents_unknown``); at the
    daemon's start, one whose item sensor sees nothing is cleared by the sensor, one
    whose sensor sees something needs a check for that (``item_unexpected``). The people
    who may sign in were in the old database: add them again.

``--void-pickup-codes``
    For a key that is lost, or that does not belong to the database. A new key is made.
    Every stored parcel gets a new pickup code, sent to its recipient when the daemon
    runs (the message says the earlier code no longer works); an expired parcel's code
    is void (it is going back to the sender); every badge is removed (enrol them
    again). The parcels, the people and the history stay.

Each refuses when its case does not apply, so neither can be used on a data dir that is
in order.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from kiosk.access import codes
from kiosk.config import Config
from kiosk.daemon.data_dir import (
    FORGET,
    VOID,
    DataDir,
    DataDirRefused,
    keep_mark_offline,
    new_database,
    open_data_dir,
)
from kiosk.errors import LockerError
from kiosk.notify.text import Notices
from kiosk.protocol.events import EventKind, Severity
from kiosk.reasons import CheckReason
from kiosk.store import OutboxItem, ParcelRow, Store
from kiosk.store.base import StoreDamaged
from kiosk.store.mark import Mark, MarkKeeper, read_mark
from kiosk.store.store import CompartmentSpec

FORGETS = {"database_lost", "database_damaged", "other_kiosk"}
VOIDS = {"key_lost", "key_swapped"}


class ReinitRefused(LockerError):
    """The option does not fit what is wrong with the data dir (or nothing is)."""


def reinit(config: Config, option: str) -> list[str]:
    """Do what ``option`` (:data:`~kiosk.daemon.data_dir.FORGET` or
    :data:`~kiosk.daemon.data_dir.VOID`) says; return what was done, a line each, for the
    person who asked."""
    from kiosk.daemon import lock_data_dir  # the daemon's own lock: it must be stopped

    if not config.kiosk.data_dir.is_dir():
        raise ReinitRefused(f"there is no data dir {config.kiosk.data_dir}")
    lock = lock_data_dir(config.kiosk.data_dir)
    try:
        problem = _diagnose(config)
        _check_fits(config, option, problem)
        if option == FORGET:
            return _forget_stored_parcels(config, problem)
        return _void_pickup_codes(config, problem)
    finally:
        os.close(lock)


def _diagnose(config: Config) -> str | None:
    """What the daemon's start would refuse (a DataDirRefused's problem), or None."""
    try:
        opened = open_data_dir(config)
    except DataDirRefused as exc:
        return exc.problem
    except StoreDamaged:
        return "database_damaged"
    opened.store.close()
    return None


def _check_fits(config: Config, option: str, problem: str | None) -> None:
    paths = DataDir(config.kiosk.data_dir)
    if option == FORGET and problem not in FORGETS:
        why = (f"its key is what is wrong: {VOID} is the option for that" if problem in VOIDS
               else "it is in order")  # fmt: skip
        raise ReinitRefused(f"nothing to forget: the database {paths.db} opens, and {why}")
    if option == VOID and problem not in VOIDS:
        why = (f"the database itself is what is wrong: {FORGET} is the option for that"
               if problem in FORGETS else "it belongs to the database")  # fmt: skip
        raise ReinitRefused(f"no pickup code to void: the kiosk key {paths.key} is there and "
                            f"{why}")  # fmt: skip


def _set_aside(paths: DataDir, names: list[str]) -> Path | None:
    """Move the named files of the data dir into a new ``set-aside-<time>/``."""
    present = [name for name in names if (paths.root / name).exists()]
    if not present:
        return None
    aside = paths.root / time.strftime("set-aside-%Y%m%d-%H%M%S")
    aside.mkdir(mode=0o700)
    for name in present:
        os.replace(paths.root / name, aside / name)
    return aside


# -- --forget-stored-parcels --------------------------------------------------------------


def _forget_stored_parcels(config: Config, problem: str | None) -> list[str]:
    paths = DataDir(config.kiosk.data_dir)
    old_mark = _readable_mark(paths)
    names = ["kiosk.db", "kiosk.db-wal", "kiosk.db-shm"]
    if problem == "other_kiosk":
        names.append("kiosk.key")  # the other kiosk's key came with its database
    aside = _set_aside(paths, names)
    key, store = new_database(config)
    try:
        store.sync_compartments([CompartmentSpec(c.id, c.size, c.board, c.lock, c.accessible)
                                 for c in config.compartments])  # fmt: skip
        recorded = old_mark.compartments if old_mark else {}
        with store.transaction():
            store.log_event(EventKind.STORE_REINITIALISED, Severity.ALARM, None, None, why=problem,
                            set_aside=str(aside) if aside else None,
                            compartments=len(config.compartments))  # fmt: skip
            for c in config.compartments:
                store.flag_for_check(c.id, CheckReason.CONTENTS_UNKNOWN,
                                     last_recorded=recorded.get(c.id))  # fmt: skip
        MarkKeeper(store, paths.mark).close()
    finally:
        store.close()
    lines = [f"a new, empty database {paths.db} for kiosk {config.kiosk.id}, with the key "
             f"{paths.key} (fingerprint {codes.key_fingerprint(key)[:12]}…)"]  # fmt: skip
    if aside is not None:
        lines.append(f"what was there is kept in {aside}")
    lines += [
        f"all {len(config.compartments)} compartments wait for a technician's check; at "
        "start, those whose item sensor sees nothing are cleared by it",
        "add the people who may sign in again: locker-kiosk users add NAME --role "
        f"technician --config {config.path}",
    ]
    return lines


def _readable_mark(paths: DataDir) -> Mark | None:
    try:
        return read_mark(paths.mark)
    except LockerError:
        return None


# -- --void-pickup-codes ------------------------------------------------------------------


def _void_pickup_codes(config: Config, problem: str | None) -> list[str]:
    paths = DataDir(config.kiosk.data_dir)
    aside = _set_aside(paths, ["kiosk.key"])
    key = codes.create_key(paths.key)
    fingerprint = codes.key_fingerprint(key)
    notices = Notices(config)
    digits = config.policy.pickup_code_digits
    store = Store(paths.db)
    try:

        def reissue(parcel: ParcelRow) -> tuple[str, Sequence[OutboxItem]]:
            issued = codes.new_code(key, digits, store.is_code_tag_live)
            return issued.tag, notices.new_code(parcel, issued.nonce, fingerprint)

        done = store.rekey(fingerprint, reissue)
        store.scrub()  # the old nonces, gone from the write-ahead log too
    finally:
        store.close()
    opened = open_data_dir(config)  # the daemon's own checks, passed now
    try:
        keeper = keep_mark_offline(opened, config)
        if keeper is not None:
            keeper.close()
    finally:
        opened.store.close()
    lines = [f"a new kiosk key {paths.key} (fingerprint {fingerprint[:12]}…) for "
             f"{paths.db}"]  # fmt: skip
    if aside is not None:
        lines.append(f"the key that was there is kept in {aside}")
    lines.append(f"{done.new_codes} stored parcels have new pickup codes; their recipients "
                 "are sent them once the daemon runs")  # fmt: skip
    if done.void_codes:
        lines.append(f"{done.void_codes} expired parcels' codes are void (they go back to "
                     "the sender)")  # fmt: skip
    if done.badges_removed:
        lines.append(f"badges removed, enrol them again: {', '.join(done.badges_removed)}")
    return lines
