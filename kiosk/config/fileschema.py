"""The config FILE's JSON Schema: the TOML keys as a person writes them, each with its
type, default, range and description, for an editor (Taplo / Even Better TOML) to
complete and check ``kiosk.toml`` with, and for ``config/example-full.toml`` to be
written from (:mod:`kiosk.config.example`).

It is pydantic's schema of :class:`~kiosk.config.model.Config`, told the few ways the
file differs from the model: a path left empty is written ``""`` (never ``null``), what
the loader fills in (``path``, ``name_by_language``, a board's ``options``) is not a key,
a board's other keys are its driver's options, and a section left out takes its
defaults (so its default is not spelled out as one value).
"""

from __future__ import annotations

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue
from pydantic_core import CoreSchema

from kiosk.config.model import Config

SCHEMA_DIALECT = "http://json-schema.org/draft-07/schema#"
"""Draft 7, the newest Taplo's validator reads (not 2019-09 nor 2020-12); the schema needs
nothing later, and its ``$defs`` are reached by JSON pointer, as draft 7 resolves them."""
TITLE = "locker-kiosk configuration (kiosk.toml)"


class _FileSchema(GenerateJsonSchema):
    """pydantic's generator without the titles it makes up from the key names (an editor
    shows the description instead)."""

    def field_title_should_be_set(self, schema: object) -> bool:
        return False

    def generate(self, schema: CoreSchema, mode: JsonSchemaMode = "validation") -> JsonSchemaValue:
        result = super().generate(schema, mode=mode)
        for definition in result.get("$defs", {}).values():
            definition.pop("title", None)
            _as_written(definition)
        _as_written(result)
        return {"$schema": SCHEMA_DIALECT, **result, "title": TITLE}


def _as_written(table: JsonSchemaValue) -> None:
    """A table's keys as the file has them: ``""`` for a path left empty, no default
    for a table (left out, it takes its own)."""
    for prop in table.get("properties", {}).values():
        if "$ref" in prop:
            prop.pop("default", None)
        elif prop.get("default", "") is None and prop.get("type") == "string":
            prop["default"] = ""


def file_schema() -> JsonSchemaValue:
    """The JSON Schema of a config file (``locker-kiosk config-schema``)."""
    return TypeAdapter(Config).json_schema(schema_generator=_FileSchema)
