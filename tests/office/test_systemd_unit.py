"""systemd/locker-office@.service: systemd reads it without a complaint, and it is hardened."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.unit.test_systemd_units import systemd_analyze

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "locker-office@.service"
INSTALLED = "/opt/locker-office/bin/locker-office"


def installed_here(tmp_path: Path) -> Path:
    program = Path(sys.executable).with_name("locker-office")
    assert program.exists(), program
    unit = tmp_path / "locker-office@8081.service"
    unit.write_text(UNIT.read_text().replace(INSTALLED, str(program)))
    return unit


def test_systemd_accepts_the_office_unit_without_a_warning(tmp_path: Path) -> None:
    run = subprocess.run(
        [systemd_analyze(), "verify", str(installed_here(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr.strip() == ""


def test_the_office_unit_is_rated_well_hardened(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            systemd_analyze(),
            "security",
            "--offline=true",
            "--no-pager",
            str(installed_here(tmp_path)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    score = re.search(r"Overall exposure level for \S+: (\d+\.\d)", run.stdout)
    assert score is not None, run.stdout + run.stderr
    assert float(score.group(1)) <= 2.0


def test_each_instance_has_its_own_client_id_and_port_and_a_bad_config_is_not_restarted() -> None:
    text = UNIT.read_text()
    assert (
        f"ExecStart={INSTALLED} --config /etc/locker-office/office.toml serve "
        "--client-id office-%i --listen 127.0.0.1:%i" in text
    )
    assert "Restart=always" in text and "RestartPreventExitStatus=2" in text
    assert "User=locker-office" in text and "CapabilityBoundingSet=\n" in text
