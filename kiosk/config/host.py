"""The ``[clock]`` and ``[storage]`` sections: what the kiosk needs of the machine it runs on.

``[clock]`` says when the wall clock may be trusted for expiry (docs/operations.md, "Time
on a Pi without a battery clock"); ``[storage]`` when free space on the data dir's disk
is low enough for an alarm.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kiosk.config.check import Table, describe

TIMESYNCD_FILE = Path("/run/systemd/timesync/synchronized")
"""systemd-timesyncd touches this file (on a tmpfs, so it is gone at boot) at every
synchronisation: its presence means the clock was set from a time server since boot."""

TRUST_CHOICES = ("timesyncd", "command", "always")


@dataclass(frozen=True)
class ClockSection:
    trust: str = "timesyncd"  # timesyncd | command | always
    sync_file: Path = TIMESYNCD_FILE
    sync_command: tuple[str, ...] = ()
    max_step_s: float = 60.0


@dataclass(frozen=True)
class StorageSection:
    low_space_mb: int = 100

    @property
    def low_space_bytes(self) -> int:
        return self.low_space_mb * 1024 * 1024


def read_clock(t: Table, base: Path) -> ClockSection:
    trust = t.get_str("trust", "timesyncd", choices=TRUST_CHOICES)
    sync_file = t.get_str("sync_file", str(TIMESYNCD_FILE))
    command = t.get_list("sync_command", (), lambda key, v: _word(t, key, v))
    section = ClockSection(
        trust=trust,
        sync_file=base / sync_file if sync_file else TIMESYNCD_FILE,
        sync_command=command,
        max_step_s=t.get_float("max_step_s", 60.0, minimum=5, maximum=86400),
    )
    if not sync_file:
        t.problem("sync_file", "must not be empty")
    if trust == "command" and not command:
        t.problem("sync_command", "is required when trust = 'command' (e.g. [\"chronyc\", "
                  "\"waitsync\", \"1\", \"0.5\"])")  # fmt: skip
    t.check_unknown()
    return section


def _word(t: Table, key: str, value: object) -> str | None:
    if not isinstance(value, str) or not value:
        t.problems.add(key, f"must be a non-empty string, got {describe(value)}")
        return None
    return value


def read_storage(t: Table) -> StorageSection:
    section = StorageSection(
        low_space_mb=t.get_int("low_space_mb", 100, minimum=1, maximum=1_000_000),
    )
    t.check_unknown()
    return section
