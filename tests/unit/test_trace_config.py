"""The ``[trace]`` section bounds the wire trace: where its file goes, how large it and
its older files may grow. A wrong value is refused in one line naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config import ConfigError, load_config

BASE = """
[kiosk]
id = "T-1"
data_dir = "/var/lib/locker-kiosk"
[[boards]]
name = "bank"
driver = "sim"
[[compartments]]
id = "A01"
size = "S"
board = "bank"
lock = 1
"""


def write(tmp_path: Path, trace: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(BASE + "[trace]\n" + trace)
    return path


def test_the_trace_goes_to_the_data_dir_capped_at_a_mebibyte_by_default(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))

    assert config.trace.file_in(config.kiosk.data_dir) == Path(
        "/var/lib/locker-kiosk/wire-trace.log"
    )
    assert (config.trace.max_bytes, config.trace.keep) == (1024 * 1024, 1)
    moved = config.with_data_dir(tmp_path / "elsewhere")
    assert moved.trace.file_in(moved.kiosk.data_dir) == tmp_path / "elsewhere" / "wire-trace.log"


def test_a_relative_trace_path_is_taken_beside_the_config(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, 'path = "traces/bus.log"\nmax_kib = 64\nkeep = 3\n'))

    assert config.trace.file_in(config.kiosk.data_dir) == tmp_path / "traces" / "bus.log"
    assert (config.trace.max_bytes, config.trace.keep) == (64 * 1024, 3)


@pytest.mark.parametrize(
    ("trace", "problem"),
    [
        ("max_kib = 1\n", "trace.max_kib: must be between 4 and 102400, got 1"),
        ("keep = 0\n", "trace.keep: must be between 1 and 9, got 0"),
        ('path = "traces/"\n', "trace.path: must name a file, not a directory: 'traces/'"),
        ("max_kb = 64\n", "trace.max_kb: unknown key (did you mean 'max_kib'?)"),
    ],
)
def test_a_wrong_trace_setting_is_refused_naming_file_and_key(
    tmp_path: Path, trace: str, problem: str
) -> None:
    path = write(tmp_path, trace)

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert caught.value.problems == [f"{path}: {problem}"]
