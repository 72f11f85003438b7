"""``tools/sbom.sh``: an SBOM of an installation, made by CycloneDX's own tool, that a
CycloneDX schema accepts and that lists locker-kiosk and what it runs on, with versions.

The installation here is this checkout's venv: what the kiosk runs with is in it, beside
the development tools, which the SBOM lists as installed packages but not as what
locker-kiosk depends on.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import OutputFormat, SchemaVersion
from cyclonedx.validation import make_schemabased_validator

ROOT = Path(__file__).resolve().parents[2]

# The tool and the schema check each take several seconds of CPU (the licence list alone
# is a schema of its own).
pytestmark = pytest.mark.slow


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_requirements() -> list[str]:
    """The names of what locker-kiosk needs at run time, as it was installed."""
    names = []
    for text in metadata.requires("locker-kiosk") or []:
        requirement, _, marker = text.partition(";")
        if "extra" not in marker:
            names.append(re.split(r"[<>=!~\[ ]", requirement.strip(), maxsplit=1)[0])
    return names


@pytest.fixture(scope="module")
def sbom(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("sbom") / "kiosk.cdx.json"
    venv = Path(sys.executable).parent.parent
    run = subprocess.run(["sh", str(ROOT / "tools" / "sbom.sh"), str(venv), str(out)],
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr
    text = out.read_text()
    return text, json.loads(text)


def test_the_sbom_is_cyclonedx_json_its_schema_accepts(sbom: tuple[str, dict[str, Any]]) -> None:
    text, document = sbom

    validator = make_schemabased_validator(OutputFormat.JSON, SchemaVersion.V1_6)

    assert validator.validate_str(text) is None
    assert (document["bomFormat"], document["specVersion"]) == ("CycloneDX", "1.6")


def test_the_sbom_names_locker_kiosk_at_its_installed_version(
    sbom: tuple[str, dict[str, Any]],
) -> None:
    _, document = sbom

    root = document["metadata"]["component"]

    assert (root["name"], root["type"]) == ("locker-kiosk", "application")
    assert root["version"] == metadata.version("locker-kiosk")
    assert root["licenses"] == [{"license": {"acknowledgement": "declared", "id": "Apache-2.0"}}]


def test_every_runtime_dependency_is_listed_with_its_installed_version(
    sbom: tuple[str, dict[str, Any]],
) -> None:
    _, document = sbom
    listed = {normalized(c["name"]): c for c in document["components"]}

    for name in runtime_requirements():
        component = listed[normalized(name)]
        assert component["version"] == metadata.version(name), name
        assert component["purl"] == f"pkg:pypi/{normalized(name)}@{metadata.version(name)}"


def test_the_kiosk_depends_on_its_runtime_packages_and_not_on_the_development_tools(
    sbom: tuple[str, dict[str, Any]],
) -> None:
    _, document = sbom
    root_ref = document["metadata"]["component"]["bom-ref"]
    refs = {c["bom-ref"]: normalized(c["name"]) for c in document["components"]}

    (edges,) = [d["dependsOn"] for d in document["dependencies"] if d["ref"] == root_ref]
    direct = {refs[ref] for ref in edges}

    assert {normalized(name) for name in runtime_requirements()} <= direct
    assert not direct & {"pytest", "mypy", "ruff", "hypothesis", "cyclonedx-bom"}
    assert direct - {normalized(name) for name in runtime_requirements()} <= {"gpiozero"}
    assert {"starlette", "pytest"} <= set(refs.values())  # installed, whatever needs them
