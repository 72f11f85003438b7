"""./run-demo sets up only what a kiosk runs; ./run-tests the development tools too.

The scripts run for real in a copy of the checkout whose ``.venv/bin/python`` records
what pip is asked to install instead of installing it (no network)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECORDING_PYTHON = """#!/bin/sh
echo "$*" >> "$(dirname "$0")/../pip-calls"
"""
RECORDING_KIOSK = """#!/bin/sh
echo "locker-kiosk $*" >> "$(dirname "$0")/../pip-calls"
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the scripts and pyproject.toml, with a venv that only records."""
    (tmp_path / "tools").mkdir()
    for name in ("run-demo", "run-tests", "pyproject.toml", "tools/bootstrap.sh"):
        shutil.copy2(ROOT / name, tmp_path / name)
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name, text in (("python", RECORDING_PYTHON), ("locker-kiosk", RECORDING_KIOSK)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return tmp_path


def installs(checkout: Path) -> list[str]:
    """What pip was asked to install into the venv, in order (pip's own upgrade left out)."""
    calls = checkout / ".venv" / "pip-calls"
    lines = calls.read_text().splitlines() if calls.exists() else []
    return [
        line.split()[-1] for line in lines if "install" in line and "pip" not in line.split()[-1]
    ]


def run(checkout: Path, *command: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"]}
    return subprocess.run(
        command, cwd=checkout, env=env, capture_output=True, text=True, timeout=60
    )


def test_run_demo_installs_the_runtime_without_the_development_tools(checkout: Path) -> None:
    demo = run(checkout, "./run-demo", "--keep")
    assert demo.returncode == 0, demo.stderr
    assert "installing locker-kiosk into .venv" in demo.stdout
    assert installs(checkout) == ["."]
    assert "locker-kiosk demo --keep" in (checkout / ".venv" / "pip-calls").read_text()
    again = run(checkout, "./run-demo")
    assert again.returncode == 0 and "installing" not in again.stdout
    assert installs(checkout) == ["."]


def test_the_test_set_up_adds_the_development_tools_and_then_covers_the_demo(
    checkout: Path,
) -> None:
    assert run(checkout, "sh", "tools/bootstrap.sh", "runtime").returncode == 0
    dev = run(checkout, "sh", "tools/bootstrap.sh")  # what ./run-tests runs first
    assert "its development tools" in dev.stdout
    assert installs(checkout) == [".", ".[dev]"]
    assert run(checkout, "sh", "tools/bootstrap.sh", "runtime").stdout == ""
    assert run(checkout, "sh", "tools/bootstrap.sh", "office").stdout == ""
    assert installs(checkout) == [".", ".[dev]"]


def test_a_changed_pyproject_installs_again(checkout: Path) -> None:
    assert run(checkout, "sh", "tools/bootstrap.sh", "runtime").returncode == 0
    stamp = checkout / ".venv" / ".installed-runtime"
    os.utime(stamp, (1_000_000, 1_000_000))  # older than pyproject.toml
    assert run(checkout, "sh", "tools/bootstrap.sh", "runtime").returncode == 0
    assert installs(checkout) == [".", "."]


def test_an_unknown_set_is_refused_by_name(checkout: Path) -> None:
    wrong = run(checkout, "sh", "tools/bootstrap.sh", "everything")
    assert wrong.returncode == 2
    assert "usage: sh tools/bootstrap.sh [runtime|office|dev]" in wrong.stderr
    assert installs(checkout) == []
