"""The office's tests: a real PostgreSQL and a real SQLite, a real Mosquitto, real kiosks.

``database`` runs a test on both databases: a fresh SQLite file, or a fresh PostgreSQL
database cloned from a migrated template in one cluster per session (cloning costs
about 0.1 s; the cluster starts once, in about a second).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from office.store import migrate
from office.store.engine import make_engine
from testkit.broker import Broker, running_broker
from testkit.office import BROKER_USERS
from testkit.postgres import Postgres, binaries, running_postgres

_numbers = itertools.count(1)


@dataclass
class Database:
    kind: str
    url: str
    engine: Engine
    server: Postgres | None = None

    def restart(self) -> None:
        """Take the database away and bring it back (PostgreSQL: the server itself)."""
        assert self.server is not None
        self.server.stop()
        self.server.start()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    if binaries() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is missing: run-tests installs Debian's postgresql")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    with running_postgres() as server:
        template = make_engine(server.create_database("office_template"))
        migrate.upgrade(template)
        template.dispose()
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty, migrated office database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'office.db'}"
        engine = make_engine(url)
        migrate.upgrade(engine)
        yield Database("sqlite", url, engine)
        engine.dispose()
        return
    server: Postgres = request.getfixturevalue("postgres")
    name = f"office_{next(_numbers)}"
    url = server.create_database(name, template="office_template")
    engine = make_engine(url)
    yield Database("postgresql", url, engine, server)
    engine.dispose()
    server.drop_database(name)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with running_broker(
        tmp_path / "broker", BROKER_USERS, persistence=True, verbose=False
    ) as running:
        yield running
