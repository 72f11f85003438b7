"""``locker-kiosk config-schema``: the JSON Schema an editor (Taplo / Even Better TOML)
checks and completes a kiosk.toml with. It describes the FILE: every example config is
valid against it, and what the loader refuses by type, range or name, the editor
underlines too, at the same key.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kiosk.commands.cli import main
from tests.unit.config_files import BOARDS_AND_COMPARTMENTS, problems_of, write_config

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
pytestmark = pytest.mark.usefixtures("fake_drivers")

KIOSK_CONFIGS = sorted(p.name for p in CONFIG_DIR.glob("*.toml") if p.name != "office-example.toml")


@pytest.fixture(scope="module")
def printed_schema() -> dict[str, Any]:
    """What ``locker-kiosk config-schema`` prints, read back as JSON."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["config-schema"]) == 0
    schema: dict[str, Any] = json.loads(out.getvalue())
    return schema


def editor_errors(schema: dict[str, Any], text: str) -> dict[str, str]:
    """What an editor checking against ``schema`` marks: key path -> message."""
    validator = jsonschema.Draft7Validator(schema)
    return {
        ".".join(str(part) for part in error.absolute_path): error.message
        for error in validator.iter_errors(tomllib.loads(text))
    }


def test_the_schema_is_a_valid_json_schema_for_a_toml_file(printed_schema: dict[str, Any]) -> None:
    jsonschema.Draft7Validator.check_schema(printed_schema)
    assert printed_schema["title"] == "locker-kiosk configuration (kiosk.toml)"
    assert printed_schema["required"] == ["kiosk", "boards", "compartments"]


@pytest.mark.parametrize("name", KIOSK_CONFIGS)
def test_every_example_config_passes_the_editors_check(
    printed_schema: dict[str, Any], name: str
) -> None:
    assert editor_errors(printed_schema, (CONFIG_DIR / name).read_text()) == {}


def test_a_misspelt_key_is_marked_by_the_editor_where_the_loader_refuses_it(
    printed_schema: dict[str, Any], tmp_path: Path
) -> None:
    kiosk = 'id = "T-1"\nlangauges = ["en"]'
    path = write_config(tmp_path, kiosk=kiosk)

    marked = editor_errors(printed_schema, path.read_text())

    assert list(marked) == ["kiosk"]
    assert "'langauges' was unexpected" in marked["kiosk"]
    assert any("kiosk.langauges: unknown key (did you mean 'languages'?)" in p
               for p in problems_of(path))  # fmt: skip


def test_a_pulse_above_the_hard_cap_is_marked_at_its_key(
    printed_schema: dict[str, Any], tmp_path: Path
) -> None:
    path = write_config(tmp_path, "[locks]\npulse_ms = 5000")

    marked = editor_errors(printed_schema, path.read_text())

    assert marked == {"locks.pulse_ms": "5000 is greater than the maximum of 2000"}
    assert any("locks.pulse_ms: must be at most 2000 (the hard cap), got 5000" in p
               for p in problems_of(path))  # fmt: skip


def test_the_schema_has_the_files_keys_not_what_the_loader_fills_in(
    printed_schema: dict[str, Any],
) -> None:
    defs = printed_schema["$defs"]
    assert "path" not in printed_schema["properties"]
    assert "name_by_language" not in defs["KioskSection"]["properties"]
    assert "from" in defs["SmtpOptions"]["properties"]  # the file's key, not the model's
    assert defs["ApiSection"]["properties"]["touchscreen_socket"]["default"] == ""
    assert defs["FleetSection"]["properties"]["keyring"]["default"] == ""
    assert "file" in defs["NotifySection"]["properties"]["backend"]["enum"]


def test_a_boards_driver_options_are_not_marked_as_unknown(
    printed_schema: dict[str, Any],
) -> None:
    text = '[kiosk]\nid = "T-1"\n' + BOARDS_AND_COMPARTMENTS.replace(
        'driver = "fake"', 'driver = "fake"\npins = [5, 6]', 1
    )
    assert "pins = [5, 6]" in text
    assert editor_errors(printed_schema, text) == {}
