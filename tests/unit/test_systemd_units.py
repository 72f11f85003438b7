"""The systemd units in ``systemd/``: systemd itself reads them, and they keep their promises.

``systemd-analyze verify`` loads each unit as systemd would and complains about any
unknown setting, bad value or missing program; ``systemd-analyze security --offline``
scores its hardening, and the scores the docs give must be the tool's. Both run on the
files as shipped, with only the program path pointed at this checkout's ``locker-kiosk``
(verify insists that it exists).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.api.listeners.server import fds_needed
from kiosk.config import load_config

UNITS = Path(__file__).resolve().parents[2] / "systemd"
DOCS = UNITS.parent / "docs"
INSTALLED = "/opt/locker-kiosk/bin/locker-kiosk"
SERVICES = ("locker-kiosk.service", "locker-kiosk-ui.service")


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze is missing: run-tests installs Debian's systemd")
        pytest.skip("systemd-analyze is not installed")
    return found


@pytest.fixture
def units(tmp_path: Path) -> Path:
    program = Path(sys.executable).with_name("locker-kiosk")
    assert program.exists(), program
    for unit in SERVICES:
        text = (UNITS / unit).read_text().replace(INSTALLED, str(program))
        (tmp_path / unit).write_text(text)
    return tmp_path


def settings(unit: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in (UNITS / unit).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_systemd_accepts_both_units_without_a_warning(units: Path) -> None:
    run = subprocess.run(
        [systemd_analyze(), "verify", *(str(units / u) for u in SERVICES)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr.strip() == ""


def exposure(unit: Path) -> str:
    """What ``systemd-analyze security --offline=true`` rates ``unit``: ``"1.4 OK"``."""
    run = subprocess.run(
        [systemd_analyze(), "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    score = re.search(r"Overall exposure level for \S+: (\d+\.\d \w+)", run.stdout)
    assert score is not None, run.stdout + run.stderr
    return score.group(1)


def documented(doc: str, pattern: str) -> str:
    """The figure ``pattern`` (with one group) finds in ``docs/DOC``."""
    found = re.search(pattern, (DOCS / doc).read_text())
    assert found is not None, f"docs/{doc} no longer says {pattern!r}"
    return found.group(1)


@pytest.mark.parametrize(("unit", "worst"), [(SERVICES[0], 2.0), (SERVICES[1], 1.5)])
def test_each_unit_is_rated_well_hardened(units: Path, unit: str, worst: float) -> None:
    assert float(exposure(units / unit).split()[0]) <= worst


def test_the_exposure_figures_in_the_docs_are_what_systemd_analyze_says(units: Path) -> None:
    daemon, ui = (exposure(units / unit) for unit in SERVICES)
    closed = units / "closed" / SERVICES[0]
    closed.parent.mkdir()
    closed.write_text(
        (units / SERVICES[0]).read_text().replace("[Service]\n", "[Service]\nIPAddressDeny=any\n")
    )

    row = r"\| `{}`{} \| \*\*(\d\.\d \w+)\*\* \|"
    assert documented("operations.md", row.format(SERVICES[0], "")) == daemon
    assert documented("operations.md", row.format(SERVICES[1], "")) == ui
    with_deny = " with `IPAddressDeny=any` added"
    assert documented("operations.md", row.format(SERVICES[0], with_deny)) == exposure(closed)
    assert documented("security.md", r"rates it \*\*(\d\.\d \w+)\*\*") == daemon
    assert documented("security.md", r"touchscreen's unit \*\*(\d\.\d \w+)\*\*") == ui


def test_the_data_dir_is_0700_under_systemd_as_everywhere() -> None:
    daemon = settings("locker-kiosk.service")
    assert daemon["StateDirectoryMode"] == ["0700"]
    tmpfiles = (UNITS / "locker-kiosk.tmpfiles.conf").read_text().splitlines()
    (line,) = [f.split() for f in tmpfiles if f.split()[1:2] == ["/var/lib/locker-kiosk"]]
    assert line[2] == "0700"


def test_the_daemon_unit_restarts_pings_and_switches_every_lock_off_after_any_end() -> None:
    daemon = settings("locker-kiosk.service")
    assert daemon["Type"] == ["notify"]
    assert daemon["Restart"] == ["always"]
    assert 1 <= int(daemon["RestartSec"][0]) <= 10
    assert int(daemon["WatchdogSec"][0]) > 0
    assert daemon["StartLimitAction"] == ["reboot"]
    assert daemon["RestartPreventExitStatus"] == ["2"]  # what a person must fix: no reboot loop
    assert not any("network-online" in u for u in daemon.get("After", []) + daemon.get("Wants", []))
    assert daemon["ExecStopPost"] == [f"{INSTALLED} safe-off --config /etc/locker-kiosk/kiosk.toml"]
    assert daemon["ExecStart"] == [f"{INSTALLED} run --config /etc/locker-kiosk/kiosk.toml"]
    assert daemon["User"] == ["locker-kiosk"]
    assert daemon["CapabilityBoundingSet"] == [""]
    assert daemon["ProtectSystem"] == ["strict"]
    assert daemon["StateDirectory"] == daemon["RuntimeDirectory"] == ["locker-kiosk"]


def test_the_touchscreen_unit_reaches_its_own_socket_but_no_lock_or_sensor() -> None:
    ui = settings("locker-kiosk-ui.service")
    assert ui["User"] == ["locker-ui"]
    assert ui["ExecStart"][0].endswith("--socket /run/locker-kiosk/touchscreen.sock")
    # Not in the API socket's group: the screen's own socket is its only way in.
    assert "locker-kiosk" not in ui["SupplementaryGroups"][0].split()
    devices = " ".join(ui["DeviceAllow"])
    assert "tty" not in devices.replace("/dev/tty0", "") and "gpio" not in devices
    # The socket, and udev's netlink events for the touchscreen; no IP at all.
    assert ui["RestrictAddressFamilies"] == ["AF_UNIX AF_NETLINK"]
    assert "Requires" not in ui  # a daemon restart must not take the screen down
    assert ui["Environment"][0] == "SDL_VIDEODRIVER=kmsdrm"


def test_the_daemon_user_is_in_the_hardware_groups_only() -> None:
    lines = (UNITS / "locker-kiosk.sysusers.conf").read_text().splitlines()
    memberships = [line.split()[1:3] for line in lines if line.startswith("m ")]
    daemon_groups = sorted(group for user, group in memberships if user == "locker-kiosk")
    # locker-ui: to give the touchscreen's socket to the touchscreen's group
    assert daemon_groups == ["dialout", "gpio", "input", "locker-ui"]
    assert [group for user, group in memberships if user == "locker-ui"] == []


def test_the_daemon_may_open_more_files_than_its_connection_caps_need_at_their_highest(
    tmp_path: Path,
) -> None:
    daemon = settings("locker-kiosk.service")
    limit = int(daemon["LimitNOFILE"][0])
    highest = tmp_path / "kiosk.toml"
    highest.write_text(
        '[kiosk]\nid = "K-1"\n[api]\ntcp_listen = "0.0.0.0:8443"\ntls_cert = "c"\n'
        'tls_key = "k"\ntoken_file = "t"\nmax_connections = 1024\n'
        "touchscreen_max_connections = 32\ntcp_max_connections = 1024\n"
        '[[boards]]\nname = "b"\ndriver = "sim"\n'
        '[[compartments]]\nid = "A01"\nsize = "S"\nboard = "b"\nlock = 1\n'
    )
    need, told = fds_needed(load_config(highest))
    assert need == 2232, told  # the arithmetic in the unit's comment
    assert limit >= need
    assert "2,232" in (UNITS / "locker-kiosk.service").read_text()
