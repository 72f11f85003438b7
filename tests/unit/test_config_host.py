"""The ``[clock]`` and ``[storage]`` sections: what the kiosk trusts of its clock, and when
its disk is low enough for an alarm."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config import load_config
from kiosk.config.host import TIMESYNCD_FILE
from tests.unit.config_files import problems_of, write_config

pytestmark = pytest.mark.usefixtures("fake_drivers")


def test_a_kiosk_trusts_its_clock_once_timesyncd_synchronised_it_unless_told_otherwise(
    tmp_path: Path,
) -> None:
    config = load_config(write_config(tmp_path))

    assert config.clock.trust == "timesyncd"
    assert config.clock.sync_file == TIMESYNCD_FILE == Path("/run/systemd/timesync/synchronized")
    assert config.clock.max_step_s == 60
    assert config.storage.low_space_bytes == 100 * 1024 * 1024


def test_a_clock_checked_by_a_command_and_a_mark_of_its_own_load(tmp_path: Path) -> None:
    extra = ('[clock]\ntrust = "command"\nsync_command = ["chronyc", "waitsync", "1", "0.5"]\n'
             "max_step_s = 300\n[storage]\nlow_space_mb = 500\n")  # fmt: skip
    config = load_config(write_config(tmp_path, extra))

    assert config.clock.sync_command == ("chronyc", "waitsync", "1", "0.5")
    assert (config.clock.max_step_s, config.storage.low_space_mb) == (300, 500)


def test_trusting_a_command_without_one_is_refused_with_an_example(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[clock]\ntrust = "command"\n')

    (problem,) = problems_of(path)
    assert problem == (
        f"{path}: clock.sync_command: is required when trust = 'command' "
        '(e.g. ["chronyc", "waitsync", "1", "0.5"])'
    )


def test_a_way_to_trust_the_clock_that_does_not_exist_is_refused_naming_the_ways(
    tmp_path: Path,
) -> None:
    path = write_config(tmp_path, '[clock]\ntrust = "ntp"\nmax_stepp_s = 10\n')

    assert problems_of(path) == [
        f"{path}: clock.trust: must be one of timesyncd, command, always, got 'ntp'",
        f"{path}: clock.max_stepp_s: unknown key (did you mean 'max_step_s'?)",
    ]


def test_a_step_tolerance_or_a_space_mark_out_of_range_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[clock]\nmax_step_s = 1\n[storage]\nlow_space_mb = 0\n")

    problems = problems_of(path)
    assert len(problems) == 2
    assert problems[0].startswith(f"{path}: clock.max_step_s: ")
    assert problems[1].startswith(f"{path}: storage.low_space_mb: ")
