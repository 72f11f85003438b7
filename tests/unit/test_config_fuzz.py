"""The config loader on any document: a valid config changed at random gives a Config or
a ConfigError naming the problems, never a crash."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.config import Config, ConfigError, load_config

pytestmark = pytest.mark.usefixtures("fake_drivers")


VALID_DOCUMENT: dict[str, Any] = {
    "demo": False,
    "kiosk": {"id": "T-1", "languages": ["en", "de"], "data_dir": "data"},
    "policy": {"hold_hours": 48, "reminder_hours": [12.5]},
    "doors": {"remind_after_s": 20, "left_open_after_s": 90},
    "locks": {"pulse_ms": 400},
    "security": {"lockout_initial_s": 10},
    "notify": {"backend": "webhook", "webhook": {"url": "https://x.example", "secret": "k"}},
    "sizes": [
        {"name": "S", "width_mm": 400, "height_mm": 100, "depth_mm": 500},
        {"name": "L", "width_mm": 400, "height_mm": 300, "depth_mm": 500},
    ],
    "boards": [{"name": "top", "driver": "fake", "baud": 9600, "reply_timeout_s": 1}],
    "compartments": [
        {"id": "A01", "size": "S", "board": "top", "lock": 1},
        {"id": "A02", "size": "L", "board": "top", "lock": 2, "accessible": True},
    ],
}


_TEXT = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=12)
_KEYS = st.sampled_from(["id", "lock", "size", "board", "driver", "name", "baud", "url"]) | _TEXT
_SCALARS = (
    st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats()
    | _TEXT
    | st.sampled_from(["S", "top", "fake", "sim", "broken", "A01", "webhook", "smtp"])
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=6,
)


def toml_value(value: object) -> str:
    """A tiny TOML writer: everything inline, which tomllib reads back as the same data."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    assert isinstance(value, dict)
    pairs = (f"{json.dumps(k, ensure_ascii=False)} = {toml_value(v)}" for k, v in value.items())
    return "{" + ", ".join(pairs) + "}"


def to_toml(document: dict[str, Any]) -> str:
    return "".join(
        f"{json.dumps(k, ensure_ascii=False)} = {toml_value(v)}\n" for k, v in document.items()
    )


def mutate(draw: st.DrawFn, node: object) -> object:
    """``node`` with one random change somewhere below it."""
    action = draw(st.sampled_from(["descend", "replace", "drop", "add"]))
    if action == "replace" or not isinstance(node, dict | list) or not node:
        return draw(_VALUES)
    if isinstance(node, dict):
        changed = dict(node)
        key = draw(st.sampled_from(sorted(changed)))
        if action == "descend":
            changed[key] = mutate(draw, changed[key])
        elif action == "drop":
            del changed[key]
        else:
            changed[draw(_KEYS)] = draw(_VALUES)
        return changed
    items = list(node)
    index = draw(st.integers(0, len(items) - 1))
    if action == "descend":
        items[index] = mutate(draw, items[index])
    elif action == "drop":
        del items[index]
    else:
        items.append(items[index])  # a duplicate: same id, same lock
    return items


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    document: object = VALID_DOCUMENT
    for _ in range(draw(st.integers(0, 4))):
        document = mutate(draw, document)
    return document if isinstance(document, dict) else {"kiosk": document}


def load_written(path: Path, document: dict[str, Any]) -> Config:
    path.write_text(to_toml(document), encoding="utf-8")
    return load_config(path)


def test_the_tiny_toml_writer_round_trips(tmp_path: Path) -> None:
    assert tomllib.loads(to_toml(VALID_DOCUMENT)) == VALID_DOCUMENT
    assert isinstance(load_written(tmp_path / "valid.toml", VALID_DOCUMENT), Config)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(document=documents())
def test_any_document_gives_a_config_or_a_config_error(
    tmp_path: Path, document: dict[str, Any]
) -> None:
    text = to_toml(document)
    tomllib.loads(text)  # the writer itself must produce valid TOML

    try:
        result = load_written(tmp_path / "fuzz.toml", document)
    except ConfigError as exc:
        assert exc.problems
        assert all(
            problem.startswith(str(tmp_path / "fuzz.toml") + ": ") for problem in exc.problems
        )
    else:
        assert isinstance(result, Config)
