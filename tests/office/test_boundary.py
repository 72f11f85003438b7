"""The office shares only the fleet contract with the kiosk's code (DESIGN.md, "The house")."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = {
    "kiosk.fleet.envelope",
    "kiosk.fleet.messages",
    "kiosk.fleet.net",
    "kiosk.fleet.payloads",
}


def imports_of(folder: Path) -> dict[str, set[str]]:
    """Every module each ``.py`` file under ``folder`` imports, by file."""
    found: dict[str, set[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        found[str(path.relative_to(ROOT))] = names
    return found


def test_office_imports_nothing_of_the_kiosk_but_the_fleet_contract() -> None:
    outside = {
        (path, name)
        for path, names in imports_of(ROOT / "office").items()
        for name in names
        if name.split(".")[0] in ("kiosk", "drivers", "hw_sim")
        and not any(name == c or name.startswith(c + ".") for c in CONTRACT)
    }
    assert outside == set()


def test_the_kiosk_never_imports_the_office() -> None:
    for folder in ("kiosk", "drivers", "hw_sim"):
        for path, names in imports_of(ROOT / folder).items():
            assert not {n for n in names if n.split(".")[0] == "office"}, path


def test_a_kiosk_install_needs_none_of_the_offices_packages() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"]).lower()
    extra = " ".join(project["optional-dependencies"]["office"]).lower()
    for package in ("sqlalchemy", "alembic", "psycopg", "argon2-cffi"):
        assert package not in core
        assert package in extra
    assert "locker-kiosk[office]" in project["optional-dependencies"]["dev"]
    assert project["scripts"]["locker-office"] == "office.cli:main"
