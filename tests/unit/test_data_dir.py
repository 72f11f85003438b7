"""The data dir is made 0700, whatever the umask lets through, and one an earlier version
left 0750 is narrowed; a dir another user owns is left to its owner."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.daemon.data_dir import prepare_data_dir


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def lax_umask() -> Iterator[None]:
    """A umask that lets group and others in, as a login shell's 002 does."""
    old = os.umask(0o002)
    yield
    os.umask(old)


@pytest.mark.usefixtures("lax_umask")
def test_a_new_data_dir_is_made_0700_and_its_parents_are_left_to_the_umask(
    tmp_path: Path,
) -> None:
    data = prepare_data_dir(tmp_path / "srv" / "kiosk")

    assert mode(data) == 0o700
    assert mode(tmp_path / "srv") == 0o775


def test_a_data_dir_left_0750_by_an_earlier_version_is_narrowed_to_0700(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "kiosk"
    data.mkdir(mode=0o750)
    data.chmod(0o750)

    with caplog.at_level("INFO"):
        prepare_data_dir(data)

    assert mode(data) == 0o700
    assert f"data dir {data} was mode 0750; made it 0700" in caplog.messages


def test_a_data_dir_another_user_owns_is_left_as_its_owner_made_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "kiosk"
    data.mkdir()
    data.chmod(0o750)
    monkeypatch.setattr(os, "geteuid", lambda: data.stat().st_uid + 1)

    prepare_data_dir(data)

    assert mode(data) == 0o750
