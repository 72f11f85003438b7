"""The pieces every section of the config schema is made of, and the one place where
pydantic's errors become the house's problem lines.

A section is a frozen pydantic dataclass (``extra="forbid"``): each field declares its
type, default, range and description once. The field types below are strict the way
TOML is: an integer is never a bool or a float, a number may be an integer, a string
is never a number. :func:`validate_section` reads one table into a section and turns
whatever pydantic refuses into ``"<file>: <key path>: <what is wrong>"`` lines, the same
words :mod:`kiosk.config.check` uses for what is checked by hand.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import annotated_types
from pydantic import (
    AllowInfNan,
    BeforeValidator,
    ConfigDict,
    Strict,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from kiosk.config.check import Problems, describe, number, suggest

__all__ = [
    "SECTION",
    "Bool",
    "Cap",
    "File",
    "Float",
    "Int",
    "OptionalFile",
    "Rule",
    "Str",
    "validate_section",
]

SECTION = ConfigDict(extra="forbid")
"""Every section's pydantic config: an unknown key is refused."""

Int = Annotated[int, Strict()]
Float = Annotated[float, Strict(), AllowInfNan(False)]
Bool = Annotated[bool, Strict()]
Str = Annotated[str, Strict()]


@dataclass(frozen=True)
class Cap:
    """Marks a maximum that is a hard cap, and says which (``"the hard cap"``)."""

    why: str


@dataclass(frozen=True)
class Rule:
    """How a field's ``pattern`` is told to the operator (``"1-8 letters or digits"``)."""

    text: str


def _base(info: ValidationInfo) -> Path | None:
    context = info.context
    base = context.get("base") if isinstance(context, Mapping) else None
    return base if isinstance(base, Path) else None


def _file(value: object, info: ValidationInfo) -> object:
    """A path as written in the file, relative to the file's directory."""
    if not isinstance(value, str):
        return value
    if not value:
        raise ValueError("must not be empty")
    base = _base(info)
    return base / value if base is not None else Path(value)  # an absolute path replaces base


def _optional_file(value: object, info: ValidationInfo) -> object:
    """As :func:`_file`, with ``""`` for none."""
    if value == "":
        return None
    return _file(value, info)


_PATH_SCHEMA = WithJsonSchema({"type": "string"})
File = Annotated[Path, BeforeValidator(_file), _PATH_SCHEMA]
"""A file or directory; relative to the config file's directory."""
OptionalFile = Annotated[Path | None, BeforeValidator(_optional_file), _PATH_SCHEMA]
"""As :data:`File`, written ``""`` (the default) for none."""

S = TypeVar("S")


def validate_section(
    cls: type[S], raw: Mapping[str, Any], key: str, problems: Problems, base: Path
) -> S | None:
    """``raw`` (one TOML table) as a ``cls``, or ``None`` with every problem recorded."""
    try:
        return TypeAdapter(cls).validate_python(dict(raw), context={"base": base})
    except ValidationError as exc:
        for error in exc.errors():
            location = _key(key, error["loc"])
            problems.add(location, explain(error, cls))
        return None


def _key(prefix: str, loc: tuple[int | str, ...]) -> str:
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path


_TYPES = {
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "string_type": "a string",
    "path_type": "a string",
    "tuple_type": "an array",
    "list_type": "an array",
    "dict_type": "a table",
    "dataclass_type": "a table",
}


def explain(error: ErrorDetails, cls: type) -> str:
    """One pydantic error in the house's words (``must be between 6 and 12, got 4``)."""
    kind, value, ctx = error["type"], error["input"], error.get("ctx", {})
    field = _field(cls, error["loc"])
    if kind in _TYPES:
        return f"must be {_TYPES[kind]}, got {describe(value)}"
    if kind == "missing":
        return "missing (required)"
    if kind == "unexpected_keyword_argument":
        return "unknown key" + suggest(str(error["loc"][-1]), _names(cls, error["loc"][:-1]))
    if kind in ("greater_than_equal", "less_than_equal"):
        return _range(field, value, ctx)
    if kind == "greater_than":
        return f"must be greater than {number(ctx['gt'])}, got {number(value)}"
    if kind == "finite_number":
        return f"must be a finite number, got {describe(value)}"
    if kind == "literal_error" and not isinstance(value, str):
        return f"must be a string, got {describe(value)}"
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return f"must be one of {', '.join(choices)}, got {value!r}"
    if kind == "string_pattern_mismatch":
        rule = _marker(field, Rule)
        return f"must be {rule.text if rule else 'like ' + str(ctx['pattern'])}, got {value!r}"
    if kind == "string_too_short":
        return f"must be a non-empty string, got {describe(value)}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return error["msg"]


def _range(field: FieldInfo | None, value: object, ctx: Mapping[str, Any]) -> str:
    low = _bound(field, annotated_types.Ge, "ge")
    high = _bound(field, annotated_types.Le, "le")
    if field is None:
        low, high = ctx.get("ge"), ctx.get("le")
    got = f"got {number(value) if isinstance(value, float | int) else value}"
    cap = _marker(field, Cap)
    if cap is not None and high is not None and isinstance(value, int | float) and value > high:
        return f"must be at most {number(high)} ({cap.why}), {got}"
    if low is not None and high is not None:
        return f"must be between {number(low)} and {number(high)}, {got}"
    if low is not None:
        return f"must be at least {number(low)}, {got}"
    return f"must be at most {number(high or 0)}, {got}"


def _bound(field: FieldInfo | None, kind: type, name: str) -> float | None:
    for item in field.metadata if field is not None else ():
        if isinstance(item, kind):
            bound: float = getattr(item, name)
            return bound
    return None


M = TypeVar("M")


def _marker(field: FieldInfo | None, kind: type[M]) -> M | None:
    for item in field.metadata if field is not None else ():
        if isinstance(item, kind):
            return item
    return None


@functools.cache
def _fields(cls: object) -> dict[str, FieldInfo]:
    """A section's fields as pydantic reads them from their annotations."""
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        return {}
    hints = typing.get_type_hints(cls, include_extras=True)
    return {f.name: FieldInfo.from_annotation(hints[f.name]) for f in dataclasses.fields(cls)}


def _field(cls: type, loc: tuple[int | str, ...]) -> FieldInfo | None:
    """The field a location names; ``None`` for an array's item (its bounds are in the
    error's context)."""
    owner: object = cls
    found: FieldInfo | None = None
    for part in loc:
        if isinstance(part, int):
            return None
        found = _by_name(owner, part)
        if found is None:
            return None
        owner = found.annotation
    return found


def _by_name(owner: object, name: str) -> FieldInfo | None:
    for field_name, info in _fields(owner).items():
        if name in (field_name, info.alias):
            return info
    return None


def _names(cls: type, loc: tuple[int | str, ...]) -> list[str]:
    """The keys the table at ``loc`` knows."""
    owner: object = cls
    for part in loc:
        if isinstance(part, int):
            continue
        found = _by_name(owner, part)
        owner = found.annotation if found is not None else None
    return [info.alias or name for name, info in _fields(owner).items() if not _hidden(info)]


def _hidden(info: FieldInfo) -> bool:
    """A field the loader fills in, not the file (``name_by_language``)."""
    return bool(info.exclude)
