"""``config/example-full.toml``, written from the file's schema: every section and key
with its default, its description and range as comments (``locker-kiosk config-schema
--example``). A test holds the checked-in file to what this gives, so a setting is
described in one place, the schema.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping, Sequence

from pydantic.json_schema import JsonSchemaValue

from drivers.base import driver_class
from kiosk.config.check import number
from kiosk.config.fileschema import file_schema

HEADER = """\
Every section and key the kiosk understands, each set to its default.

Copy what you need into your own file; a key you leave out takes the value shown
here. Keys marked "required" have no default. The kiosk refuses to start on an
unknown key, a wrong type or a value out of range, and names the file and the key.
Relative paths are taken relative to the directory of the config file.

Written by `locker-kiosk config-schema --example` from the schema in kiosk/config:
change a setting's description there, not here. An editor completes and checks a
kiosk.toml with `locker-kiosk config-schema` (docs/operations.md, "5. The config").
"""

LEFT_OUT = ("fleet",)
"""Tables shown commented out, filled in with examples: their presence switches
something on (``[fleet]``: the link to the operator's network)."""

EXAMPLE_DRIVER = "sim"
SIM_OPTIONS = {
    "person": '"auto": a simulated person uses every door that pops open; "manual": tests '
    "open and close the doors themselves",
    "open_delay_s": "delay between a lock pulse and the door popping open",
    "close_delay_s": "how long the auto person keeps a door open",
    "item_sensors": "false: a board without item sensors (nothing compared at start)",
    "state_file": '"" = sim-state.json in the data dir',
    "control_socket": '"" = sim.sock in the data dir',
    "fire_log": '"" = sim-fires.log in the data dir',
}
"""What the example board's driver options mean (drivers declare their options' types
and defaults, not their words)."""

WIDTH = 92
COMMENT_AT = 26


def example_toml() -> str:
    """The text of ``config/example-full.toml``."""
    schema = file_schema()
    lines = [_comment(text) for text in HEADER.splitlines()]
    for name, prop in schema["properties"].items():
        if "$ref" not in prop and "items" not in prop:
            lines += ["", *_key(name, prop, prop.get("default"))]
    for name, prop in schema["properties"].items():
        if "$ref" in prop:
            table = _table(name, _def(schema, prop), schema, name in LEFT_OUT)
            lines += ["", *table]
        elif "$ref" in prop.get("items", {}):
            lines += ["", *_array(name, prop, _def(schema, prop["items"]))]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _def(schema: JsonSchemaValue, prop: JsonSchemaValue) -> JsonSchemaValue:
    definition: JsonSchemaValue = schema["$defs"][prop["$ref"].rsplit("/", 1)[-1]]
    return definition


def _table(name: str, table: JsonSchemaValue, schema: JsonSchemaValue, left_out: bool) -> list[str]:
    """``[name]``: its description, its keys, then its own tables (``[notify.smtp]``)."""
    lines = _paragraph(table.get("description", ""))
    body = [f"[{name}]"]
    for key, prop in table["properties"].items():
        if "$ref" not in prop:
            value = _examples(prop)[0] if left_out and "examples" in prop else _value(key, prop)
            body += _key(key, prop, value)
    if left_out:
        body = [_comment(line) for line in body]
    lines += body
    for key, prop in table["properties"].items():
        inner = _def(schema, prop) if "$ref" in prop else None
        if inner is not None and inner.get("properties"):
            lines += ["", *_table(f"{name}.{key}", inner, schema, left_out)]
    return lines


def _array(name: str, prop: JsonSchemaValue, item: JsonSchemaValue) -> list[str]:
    """``[[name]]``: the default items, or one made of each key's example or default."""
    about = item.get("description", "") + " " + _sentence(prop.get("description", ""))
    lines = _paragraph(about)
    entries = prop.get("default") or [
        {key: _value(key, p) for key, p in item["properties"].items()}
    ]
    for i, entry in enumerate(entries):
        lines += [""] if i else []
        lines.append(f"[[{name}]]")
        for key, value in entry.items():
            described = item["properties"][key] if i == 0 else {}
            lines += _key(key, described, value)
        if name == "boards":
            lines += _driver_options(entry["driver"])
    return lines


def _driver_options(driver: str) -> list[str]:
    """The example board's driver options, each at its default."""
    options: Mapping[str, tuple[type, object]] = getattr(driver_class(driver), "OPTIONS", {})
    lines = [_comment(f"The {driver} driver's options and their defaults:")]
    for key, (_, default) in options.items():
        lines += _key(key, {"description": SIM_OPTIONS.get(key, "")}, default)
    return lines


def _value(key: str, prop: JsonSchemaValue) -> object:
    """A key's default; its example where it has none (it is required)."""
    if "default" in prop:
        return prop["default"]
    if "examples" in prop:
        return _examples(prop)[0]
    raise ValueError(f"{key}: a required key needs an example in the schema")


def _examples(prop: JsonSchemaValue) -> Sequence[object]:
    examples: Sequence[object] = prop["examples"]
    return examples


def _key(key: str, prop: JsonSchemaValue, value: object) -> list[str]:
    """``key = value``, with the description and range as a comment beside it."""
    assignment = f"{key} = {_toml(value)}"
    note = _note(prop)
    if not note:
        return [assignment]
    column = max(COMMENT_AT, len(assignment) + 2)
    wrapped = textwrap.wrap(note, WIDTH - column - 2, break_on_hyphens=False) or [""]
    lines = [assignment.ljust(column) + "# " + wrapped[0]]
    return lines + [" " * COMMENT_AT + "# " + more for more in wrapped[1:]]


def _note(prop: JsonSchemaValue) -> str:
    description = " ".join(str(prop.get("description", "")).split())
    limits = _range(prop)
    if description and limits:
        return f"{description} ({limits})"
    return description or limits


def _range(prop: JsonSchemaValue) -> str:
    low, high = prop.get("minimum"), prop.get("maximum")
    above = prop.get("exclusiveMinimum")
    if low is not None and high is not None:
        return f"{number(low)}..{number(high)}"
    limits = [f"at least {number(low)}"] if low is not None else []
    limits += [f"more than {number(above)}"] if above is not None else []
    limits += [f"at most {number(high)}"] if high is not None else []
    return ", ".join(limits)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def _paragraph(text: str) -> list[str]:
    """A description as a comment block, its ``code`` as the file's `code`."""
    paragraphs = text.replace("``", "`").split("\n\n")
    lines: list[str] = []
    for i, paragraph in enumerate(p for p in paragraphs if p.strip()):
        lines += ["#"] if i else []
        text = " ".join(paragraph.split())
        wrapped = textwrap.wrap(text, WIDTH - 2, break_on_hyphens=False)
        lines += [_comment(line) for line in wrapped]
    return lines


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return (text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")) if text else ""


def _comment(line: str) -> str:
    return f"# {line}" if line else "#"
