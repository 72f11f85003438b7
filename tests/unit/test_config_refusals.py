"""The config file: what is refused (keys, types, ranges, values that must agree,
compartments, sizes, the file itself) and what the operator is told."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.config import MAX_PULSE_MS, ConfigError, load_config
from kiosk.config.check import MAX_NESTING
from tests.unit.config_files import problems_of, write_config

pytestmark = pytest.mark.usefixtures("fake_drivers")


def test_unknown_key_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    path = write_config(tmp_path, kiosk='id = "T-1"\nlangauges = ["en"]')

    assert problems_of(path) == [
        f"{path}: kiosk.langauges: unknown key (did you mean 'languages'?)"
    ]


def test_a_language_the_touchscreen_cannot_show_is_refused_naming_the_key(
    tmp_path: Path,
) -> None:
    path = write_config(tmp_path, kiosk='id = "T-1"\nlanguages = ["en", "fr"]')

    assert problems_of(path) == [
        f"{path}: kiosk.languages[1]: the touchscreen has no translation for 'fr' (it has: en, de)"
    ]


def test_unknown_top_level_key_and_section_key_are_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[polcy]\nhold_hours = 10\n\n[doors]\ncolour = 'red'")

    problems = problems_of(path)

    assert f"{path}: polcy: unknown key (did you mean 'policy'?)" in problems
    assert any(p.startswith(f"{path}: doors.colour: unknown key (known: ") for p in problems)


def test_wrong_type_names_the_value_and_its_type(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, "[policy]\npickup_code_digits = 'abc'\n\n[doors]\nopen_retries = true"
    )

    assert problems_of(path) == [
        f"{path}: policy.pickup_code_digits: must be an integer, got 'abc' (string)",
        f"{path}: doors.open_retries: must be an integer, got true (boolean)",
    ]


def test_value_out_of_range_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[policy]\npickup_code_digits = 4")

    assert problems_of(path) == [
        f"{path}: policy.pickup_code_digits: must be between 6 and 12, got 4"
    ]


def test_a_hold_extension_limit_past_thirty_days_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[policy]\nmax_extend_hours = 721")

    assert problems_of(path) == [
        f"{path}: policy.max_extend_hours: must be between 0 and 720, got 721"
    ]


def test_pulse_longer_than_the_hard_cap_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[locks]\npulse_ms = 3000")

    assert problems_of(path) == [
        f"{path}: locks.pulse_ms: must be at most {MAX_PULSE_MS} (the hard cap), got 3000"
    ]


def test_related_values_must_agree(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        "[policy]\nhold_hours = 24\nreminder_hours = [12, 30]\n\n"
        "[doors]\nremind_after_s = 60\nleft_open_after_s = 60\n\n"
        "[security]\nlockout_initial_s = 60\nlockout_max_s = 10",
    )

    assert problems_of(path) == [
        f"{path}: policy.reminder_hours[1]: must be less than hold_hours (24), got 30",
        f"{path}: doors.left_open_after_s: must be greater than remind_after_s (60), got 60",
        f"{path}: security.lockout_max_s: must be at least lockout_initial_s (60), got 10",
    ]


def test_duplicate_compartment_id_names_both_entries(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, '[[compartments]]\nid = "A01"\nsize = "L"\nboard = "top"\nlock = 3'
    )

    assert problems_of(path) == [
        f"{path}: compartments[2].id: duplicate compartment id 'A01' (also compartments[0])"
    ]


def test_two_compartments_on_one_lock_channel_are_refused(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, '[[compartments]]\nid = "A03"\nsize = "L"\nboard = "top"\nlock = 2'
    )

    assert problems_of(path) == [
        f"{path}: compartments[2].lock: lock 2 of board 'top' is already used by compartment A02"
    ]


def test_unknown_size_lists_the_sizes(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, '[[compartments]]\nid = "A03"\nsize = "XXL"\nboard = "top"\nlock = 3'
    )

    assert problems_of(path) == [
        f"{path}: compartments[2].size: unknown size 'XXL' (sizes: S, M, L, XL)"
    ]


def test_compartment_on_an_undefined_board_is_refused(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, '[[compartments]]\nid = "A03"\nsize = "S"\nboard = "bottom"\nlock = 1'
    )

    assert problems_of(path) == [
        f"{path}: compartments[2].board: board 'bottom' is not defined in [[boards]] (boards: top)"
    ]


def test_duplicate_size_name_is_refused(tmp_path: Path) -> None:
    sizes = "".join(
        f'[[sizes]]\nname = "{name}"\nwidth_mm = 400\nheight_mm = {h}\ndepth_mm = 500\n\n'
        for name, h in (("S", 100), ("M", 200), ("M", 300))
    )
    path = write_config(tmp_path, sizes)

    assert problems_of(path) == [f"{path}: sizes[2].name: size 'M' is already defined by sizes[1]"]


def test_missing_file_is_one_problem_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"

    assert problems_of(path) == [f"{path}: cannot read: file not found"]


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[kiosk]\nid = "T-1"\nname = \n', encoding="utf-8")

    (problem,) = problems_of(path)

    assert problem.startswith(f"{path}: not valid TOML: ")
    assert "line 3" in problem


def test_several_problems_are_reported_at_once(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        '[locks]\npulse_ms = 3000\n\n[[compartments]]\nid = "A01"\nsize = "XXL"\n'
        'board = "top"\nlock = 2',
        kiosk='id = "has space"\nlangauges = ["en"]',
    )

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    problems = caught.value.problems
    assert len(problems) == 6
    assert str(caught.value) == "\n".join(problems)
    assert all(p.startswith(f"{path}: ") for p in problems)
    keys = [p.split(": ")[1] for p in problems]
    assert set(keys) == {
        "kiosk.id",
        "kiosk.langauges",
        "locks.pulse_ms",
        "compartments[2].id",
        "compartments[2].size",
        "compartments[2].lock",
    }


def test_kiosk_boards_and_compartments_are_required(tmp_path: Path) -> None:
    path = tmp_path / "empty.toml"
    path.write_text("[policy]\nhold_hours = 24\n", encoding="utf-8")

    assert problems_of(path) == [
        f"{path}: kiosk: missing (required): the file needs a [kiosk] table",
        f"{path}: boards: at least one [[boards]] table is required",
        f"{path}: compartments: at least one [[compartments]] table is required",
    ]


def test_arrays_nested_deeper_than_any_setting_are_refused_naming_the_key(
    tmp_path: Path,
) -> None:
    path = write_config(tmp_path, "[notify]\nbackend = " + "[" * 8 + "]" * 8)

    assert problems_of(path) == [
        f"{path}: notify.backend[0][0][0][0][0][0][0]: arrays or tables nested deeper than "
        f"this; no setting needs more than {MAX_NESTING} levels"
    ]


def test_nesting_up_to_the_limit_is_read_as_a_value(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[notify]\nbackend = " + "[" * 7 + "]" * 7)

    assert problems_of(path) == [f"{path}: notify.backend: must be a string, got an array"]


def test_a_two_thousand_deep_array_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    path = write_config(tmp_path, "junk = " + "[" * 2000 + "]" * 2000)

    assert problems_of(path) == [
        f"{path}: arrays or tables nested too deeply to read; no setting needs more than "
        f"{MAX_NESTING} levels"
    ]


def test_thousands_of_dotted_table_names_are_refused_at_the_limit(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[" + ".".join(["deep"] * 3000) + "]\nx = 1")

    (problem,) = problems_of(path)

    assert problem == (
        f"{path}: " + ".".join(["deep"] * (MAX_NESTING + 1)) + ": arrays or tables nested "
        f"deeper than this; no setting needs more than {MAX_NESTING} levels"
    )


@pytest.mark.parametrize("command", ["check-config", "run", "sim"])
def test_every_command_that_reads_the_config_refuses_deep_nesting_in_one_line(
    tmp_path: Path, command: str
) -> None:
    path = write_config(tmp_path, "junk = " + "[{a = " * 1500 + "1}]" * 1500)

    run = subprocess.run(
        [sys.executable, "-m", "kiosk", command, "--config", str(path)],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip

    assert run.returncode == 2
    assert run.stderr == (
        f"locker-kiosk: {path}: arrays or tables nested too deeply to read; no setting needs "
        f"more than {MAX_NESTING} levels\n"
    )
    assert not (tmp_path / "kiosk.db").exists()


def test_a_door_open_grace_too_short_to_read_the_screen_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[ui]\ndoor_open_grace_s = 3")

    assert problems_of(path) == [f"{path}: ui.door_open_grace_s: must be between 10 and 600, got 3"]
