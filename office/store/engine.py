"""Connecting to the office's database: the same code on SQLite and PostgreSQL.

SQLite (the embedded default) runs in WAL mode with ``synchronous=FULL`` (a commit the
ingest has acknowledged to the broker survives a power cut), foreign keys on, and every
transaction begun ``IMMEDIATE``: two ``serve`` processes on one file then wait for each
other's write lock (``busy_timeout``) instead of failing on a lock upgrade. The file is
created private (0600): it holds the console's password hashes. PostgreSQL connections
are checked before use, so a database that restarted is reconnected to, not reported.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

BUSY_TIMEOUT_MS = 30_000


def make_engine(url: URL | str, pool_size: int = 5) -> Engine:
    """An engine for ``url`` with the settings above."""
    url = sa.make_url(url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return sa.create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=2)


def _sqlite_engine(url: URL) -> Engine:
    if url.database and url.database != ":memory:":
        _create_private(Path(url.database))
    engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling is off; "begin" below starts each one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=FULL",
            "foreign_keys=ON",
            f"busy_timeout={BUSY_TIMEOUT_MS}",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _create_private(path: Path) -> None:
    """The database file, made 0600 if it is new (SQLite gives its WAL the same mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
