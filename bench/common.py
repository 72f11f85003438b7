"""What every benchmark in ``bench/`` shares: the machine, percentiles and tables.

Benchmarks print figures; they never pass or fail on timing. Each script states its
goals beside the figures so a reader can compare them.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "MachineInfo",
    "filesystem_of",
    "fmt_us",
    "load_average",
    "machine_info",
    "percentile",
    "print_table",
    "render_config",
    "verdict",
]

SIZE_CYCLE = ("S", "S", "M", "M", "L", "XL", "S", "M")
"""Sizes of compartments A01, A02, ... in turn: a typical bank has more small doors."""


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100) of an already sorted sequence."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def fmt_us(seconds: float, digits: int = 0) -> str:
    """``seconds`` as microseconds, with thousands separators."""
    if math.isnan(seconds):
        return "-"
    return f"{seconds * 1e6:,.{digits}f}"


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]], title: str = "") -> None:
    """A plain-text table: the first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    if title:
        print(title)
    for n, row in enumerate(cells):
        parts = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ]
        print("  " + "  ".join(parts).rstrip())
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))
    print()


class MachineInfo:
    """The facts about this machine that a reader needs to weigh the figures."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self.cpu = _cpu_model()
        self.cores = os.cpu_count() or 0
        self.usable_cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0
        self.memory_mb = _mem_total_mb()
        self.python = f"{platform.python_implementation()} {platform.python_version()}"
        self.kernel = f"{platform.system()} {platform.release()} ({platform.machine()})"
        self.sqlite = sqlite3.sqlite_version
        self.virtual = _is_virtual()
        self.filesystem = filesystem_of(data_dir) if data_dir is not None else None
        self.load_at_start = load_average()

    def rows(self) -> list[tuple[str, str]]:
        rows = [
            ("CPU", self.cpu + (" (virtual machine)" if self.virtual else "")),
            ("cores", f"{self.cores} (usable by this process: {self.usable_cores})"),
            ("memory", f"{self.memory_mb:,} MB"),
            ("Python", self.python),
            ("kernel", self.kernel),
            ("SQLite", self.sqlite),
        ]
        if self.filesystem is not None:
            rows.append(("data dir filesystem", self.filesystem))
        # Other work on the machine shows in every figure; say how busy it was.
        rows.append(("load average (1 min)", f"{self.load_at_start} at start, "
                     f"{load_average()} at end"))  # fmt: skip
        return rows

    def print(self) -> None:
        print_table(["machine", ""], self.rows())


def machine_info(data_dir: Path | None = None) -> MachineInfo:
    return MachineInfo(data_dir)


def filesystem_of(path: Path) -> str:
    """``path``'s mount: device, type and the options that matter for fsync."""
    target = os.path.realpath(path)
    best: tuple[str, str, str, str] | None = None
    try:
        lines = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return "unknown"
    for line in lines:
        fields = line.split()
        if len(fields) < 4:
            continue
        device, mount, fstype, options = fields[:4]
        mount = mount.replace("\\040", " ")
        inside = target == mount or target.startswith(mount.rstrip("/") + "/")
        if inside and (best is None or len(mount) >= len(best[1])):
            best = (device, mount, fstype, options)
    if best is None:
        return "unknown"
    device, mount, fstype, options = best
    keep = [o for o in options.split(",") if o.split("=")[0] in _FS_OPTIONS]
    extra = f", {','.join(keep)}" if keep else ""
    return f"{fstype} on {device} (mounted at {mount}{extra})"


_FS_OPTIONS = {"ro", "rw", "sync", "barrier", "nobarrier", "data", "commit", "discard"}


def load_average() -> str:
    """The 1-minute load average, as the kernel prints it."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except (OSError, IndexError):
        return "unknown"


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    found: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key in ("model name", "Model", "Hardware", "cpu model") and key not in found:
            found[key] = value.strip()
    # A Raspberry Pi names the board in "Model" and the SoC in "Hardware".
    for key in ("Model", "model name", "cpu model", "Hardware"):
        if key in found:
            return found[key]
    return platform.processor() or "unknown"


def _mem_total_mb() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except (OSError, ValueError):
        pass
    return 0


def _is_virtual() -> bool:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags") and " hypervisor" in line:
                return True
    except OSError:
        pass
    return False


def render_config(
    data_dir: Path,
    compartments: int,
    sections: Mapping[str, Mapping[str, Any]] | None = None,
    board: Mapping[str, Any] | None = None,
) -> str:
    """A kiosk config: one ``sim`` board with ``compartments`` doors (at most 64).

    Every eighth compartment is accessible. ``sections`` adds tables such as
    ``{"doors": {"poll_hz": 5}}``; ``board`` adds sim driver options.
    """
    if not 1 <= compartments <= 64:
        raise ValueError("one sim board drives 1 to 64 locks")
    lines = [
        "[kiosk]",
        'id = "BENCH-01"',
        'name = "Benchmark kiosk"',
        f"data_dir = {json.dumps(str(data_dir))}",
        f"socket = {json.dumps(str(data_dir / 'api.sock'))}",
    ]
    # A benchmark opens doors back to back: far past the mass-open guard's default.
    sections = dict(sections or {})
    sections["security"] = {"mass_open_max": 100_000, **sections.get("security", {})}
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {_toml(value)}" for key, value in values.items()]
    lines += ["[[boards]]", 'name = "bank"', 'driver = "sim"']
    lines += [f"{key} = {_toml(value)}" for key, value in (board or {}).items()]
    for i in range(1, compartments + 1):
        lines += [
            "[[compartments]]",
            f'id = "A{i:02d}"',
            f'size = "{SIZE_CYCLE[(i - 1) % len(SIZE_CYCLE)]}"',
            'board = "bank"',
            f"lock = {i}",
            f"accessible = {_toml(i % 8 == 0)}",
        ]
    return "\n".join(lines) + "\n"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))
