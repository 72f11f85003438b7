"""/openapi.json describes every answer of the local API, not only its requests."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from kiosk.api import create_app
from kiosk.protocol.stream import StreamKind


def schema() -> dict[str, Any]:
    config = SimpleNamespace(board_specs=lambda: [], compartments=[])  # no board to scan
    app = create_app(SimpleNamespace(config=config), None, None)  # type: ignore[arg-type]
    return app.openapi()


def answers(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Each route's successful answer, by (method, path)."""
    found = {}
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            ok = next(v for k, v in op["responses"].items() if k.startswith("2"))
            found[(method.upper(), path)] = ok
    return found


def test_every_route_describes_the_shape_of_its_answer() -> None:
    spec = schema()
    shapeless = []
    for (method, path), ok in answers(spec).items():
        content = ok.get("content", {})
        body = content.get("application/json", content.get("text/event-stream", {}))
        if not body.get("schema"):
            shapeless.append(f"{method} {path}")
    assert shapeless == []
    assert len(answers(spec)) == 39  # every route of the API is in the schema


def test_a_client_reads_the_pickup_answer_and_its_again_token_from_the_schema() -> None:
    spec = schema()
    ok = answers(spec)[("POST", "/v1/pickup")]
    ref = ok["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    shape = spec["components"]["schemas"][ref]
    assert {"operation", "compartment", "status", "door", "message"} <= set(shape["required"])
    assert "again_token" in shape["properties"]
    assert "again_token" not in shape["required"]  # only when the kiosk allows it


def test_the_stream_says_its_message_kinds() -> None:
    ok = answers(schema())[("GET", "/v1/stream")]
    assert "text/event-stream" in ok["content"]
    assert all(kind.value in ok["description"] for kind in StreamKind)
