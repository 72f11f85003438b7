"""No file of the project holds what an unfinished merge leaves behind: a conflict's
markers in a doc or a module read as text to a person and as a syntax error to Python."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(rb"^(<{7} |>{7} |={7}$)", re.MULTILINE)
TEXT = {".md", ".py", ".toml", ".html", ".po", ".pot", ".sh", ".service", ".cfg"}


def test_no_file_holds_a_merge_conflicts_markers() -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=False
    ).stdout.split(b"\0")
    files = [ROOT / name.decode() for name in listed if name] or list(ROOT.glob("**/*.md"))
    found = [
        str(path.relative_to(ROOT))
        for path in files
        if path.is_file()
        and path.suffix
        in {".md", ".py", ".toml", ".html", ".po", ".pot", ".sh", ".service", ".cfg"}
        and MARKER.search(path.read_bytes())
    ]
    assert found == []
