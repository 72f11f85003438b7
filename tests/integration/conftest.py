from collections.abc import Iterator

import pytest

from testkit.daemon import Daemon, running_daemon


@pytest.fixture
def daemon() -> Iterator[Daemon]:
    with running_daemon() as d:
        yield d
