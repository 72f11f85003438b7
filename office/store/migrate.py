"""The schema's version: bring it to the newest (``locker-office migrate``) and check it.

``serve`` refuses to start on a database whose schema is not the newest, naming both
revisions, so an office that was upgraded without ``migrate`` says so at once instead
of failing on the first message.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

SCRIPTS = Path(__file__).resolve().parents[1] / "migrations"


class SchemaNotCurrent(Exception):
    """The database's schema is older (or other) than this office's."""


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    return config


def head() -> str:
    """The newest revision this office knows."""
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None
    return revision


def current(engine: Engine) -> str | None:
    """The database's revision; ``None`` for a database never migrated."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to the newest revision; ``(from, to)``."""
    before = current(engine)
    config = _config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return before, head()


def check_current(engine: Engine) -> None:
    """Raise :class:`SchemaNotCurrent` unless the schema is the newest."""
    found, wanted = current(engine), head()
    if found != wanted:
        shown = "no schema at all" if found is None else f"schema revision {found}"
        raise SchemaNotCurrent(
            f"the database has {shown}; this office needs {wanted}: run locker-office migrate"
        )
