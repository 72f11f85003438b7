from collections.abc import Iterator

import pytest

from testkit.daemon import Daemon, running_daemon
from testkit.ui import UiDriver


@pytest.fixture
def daemon() -> Iterator[Daemon]:
    with running_daemon() as d:
        yield d


@pytest.fixture
def ui(daemon: Daemon) -> Iterator[UiDriver]:
    driver = UiDriver(str(daemon.touchscreen_socket))
    driver.wait_until(
        lambda: driver.app.online and driver.app.kiosk is not None, what="the UI to connect"
    )
    yield driver
    driver.close()
