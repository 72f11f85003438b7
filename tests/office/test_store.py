"""The office's schema on both databases: migrations, the append-only audit, the check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from office.store import migrate
from office.store.accounts import audit
from office.store.engine import make_engine
from office.store.schema import metadata
from tests.office.conftest import Database


def test_migrations_build_exactly_the_schema_the_code_uses(database: Database) -> None:
    with database.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []
    assert migrate.current(database.engine) == migrate.head()


def test_the_console_audit_refuses_to_be_changed_or_emptied(database: Database) -> None:
    with database.engine.begin() as conn:
        audit(conn, "cli:root", "user_added", "alice", role="admin")
    for statement in ("UPDATE console_audit SET actor = 'mallory'", "DELETE FROM console_audit"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), database.engine.begin() as c:
            c.execute(sa.text(statement))
    with database.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT actor, action, target FROM console_audit")).all()
    assert rows == [("cli:root", "user_added", "alice")]


def test_serve_refuses_a_database_that_was_never_migrated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'office.db'}"
    config = tmp_path / "office.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n[mqtt]\nbroker = "127.0.0.1:1883"\ntls = false\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "office", "--config", str(config), "serve"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "the database has no schema at all" in done.stderr
    assert "run locker-office migrate" in done.stderr


def test_migrate_makes_a_private_sqlite_file_and_says_what_it_did(tmp_path: Path) -> None:
    config = tmp_path / "office.toml"
    config.write_text('[mqtt]\nbroker = "127.0.0.1:1883"\ntls = false\n')
    command = [sys.executable, "-m", "office", "--config", str(config), "migrate"]
    first = subprocess.run(command, capture_output=True, text=True, timeout=60)
    again = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert first.stdout.strip() == f"schema: none -> {migrate.head()}"
    assert again.stdout.strip() == f"schema: {migrate.head()}, already the newest"
    assert (tmp_path / "office.db").stat().st_mode & 0o777 == 0o600
    assert migrate.current(make_engine(f"sqlite:///{tmp_path / 'office.db'}")) == migrate.head()
