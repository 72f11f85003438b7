"""The ``[clock]`` and ``[storage]`` sections: what the kiosk needs of the machine it runs on.

``[clock]`` says when the wall clock may be trusted for expiry (docs/operations.md, "Time
on a Pi without a battery clock"); ``[storage]`` when free space on the data dir's disk
is low enough for an alarm.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from kiosk.config.check import Problems
from kiosk.config.schema import SECTION, File, Float, Int, Str

TIMESYNCD_FILE = Path("/run/systemd/timesync/synchronized")
"""systemd-timesyncd touches this file (on a tmpfs, so it is gone at boot) at every
synchronisation: its presence means the clock was set from a time server since boot."""

TRUST_CHOICES = ("timesyncd", "command", "always")
Word = Annotated[Str, Field(min_length=1)]


@dataclass(frozen=True)
class ClockSection:
    """When the wall clock is trusted for expiry, reminders and holds
    (docs/operations.md, "Time on a Pi without a battery clock")."""

    __pydantic_config__ = SECTION

    trust: Annotated[
        Literal["timesyncd", "command", "always"],
        Field(
            description='"timesyncd": once systemd-timesyncd synchronised it since boot '
            '(sync_file exists); "command": once sync_command exits 0; "always": from the start '
            "(a battery-backed clock, no network)"
        ),
    ] = "timesyncd"
    sync_file: Annotated[File, Field(description='for "timesyncd"')] = TIMESYNCD_FILE
    sync_command: Annotated[
        tuple[Word, ...],
        Field(description='for "command", e.g. ["chronyc", "waitsync", "1", "0.5"]'),
    ] = ()
    max_step_s: Annotated[
        Float,
        Field(
            ge=5,
            le=86400,
            description="a step of the wall clock (either way) larger than this against the time "
            "that really passed is a clock_jump alarm, and no parcel expires until a technician "
            "confirms the time",
        ),
    ] = 60.0


@dataclass(frozen=True)
class StorageSection:
    """Free space on the data dir's disk."""

    __pydantic_config__ = SECTION

    low_space_mb: Annotated[
        Int,
        Field(
            ge=1,
            le=1_000_000,
            description="a disk_space_low alarm when the data dir's disk has less free (a full "
            "disk stops every door: docs/operations.md)",
        ),
    ] = 100

    @property
    def low_space_bytes(self) -> int:
        return self.low_space_mb * 1024 * 1024


def check_clock(section: ClockSection, problems: Problems) -> None:
    """What the fields of ``[clock]`` must agree on."""
    if section.trust == "command" and not section.sync_command:
        problems.add("clock.sync_command", "is required when trust = 'command' (e.g. "
                     "[\"chronyc\", \"waitsync\", \"1\", \"0.5\"])")  # fmt: skip
