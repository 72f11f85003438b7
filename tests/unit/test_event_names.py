"""Journey: a technician reads the event log on the touchscreen, in English or German.

Every kind of event the daemon can write has a name a person can read. The kinds are
read from the daemon's own source, so a new event without a name fails here rather than
showing up on the screen as ``remote_command_refused``.
"""

from __future__ import annotations

import ast
from pathlib import Path

from kiosk.ui.event_names import EVENT_NAMES, event_name
from kiosk.ui.i18n import set_language

ROOT = Path(__file__).resolve().parents[2]
SEVERITIES = {"info", "warning", "alarm"}
# note, refuse: the fleet's gate; log_event_or_refuse: an event that must precede a fire
EMITTERS = {"log_event", "log_event_or_refuse", "_event", "note", "refuse"}

# Kinds built from a value at run time: every value the code can give them.
EXPANDED = {
    "item_{}": ["item_still_inside", "item_empty"],
    "{}_started": ["open-all_started", "self-test_started", "discover_started", "bus-scan_started"],
    "{}_finished": [
        "open-all_finished",
        "self-test_finished",
        "discover_finished",
        "bus-scan_finished",
    ],
}


def _kinds_of(node: ast.expr) -> list[str] | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _kinds_of(node.body), _kinds_of(node.orelse)
        return None if body is None or orelse is None else body + orelse
    if isinstance(node, ast.JoinedStr):
        shape = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        assert shape in EXPANDED, f"an event kind built as {shape!r}: list its values here"
        return EXPANDED[shape]
    return None  # a parameter handed on (the store's own helpers)


def _assigned_kind(node: ast.Assign) -> ast.expr | None:
    """The value given to a variable named ``kind`` (alone or in a tuple)."""
    for target in node.targets:
        if isinstance(target, ast.Name) and target.id == "kind":
            return node.value
        if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
            for name, value in zip(target.elts, node.value.elts, strict=False):
                if isinstance(name, ast.Name) and name.id == "kind":
                    return value
    return None


def emitted_kinds() -> dict[str, str]:
    """Every event kind the daemon (kiosk/; drivers have no event log) writes, with a
    place that writes it."""
    found: dict[str, str] = {}
    for path in ROOT.joinpath("kiosk").rglob("*.py"):
        if "ui" in path.relative_to(ROOT).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            first: ast.expr | None = None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in EMITTERS and node.args:
                    first = node.args[0]
                elif node.func.attr == "fail" and len(node.args) > 1:
                    first = node.args[1]  # a wrong code or PIN: (input, kind)
                elif node.func.attr == "wrong" and len(node.args) > 2:
                    first = node.args[2]  # a wrong PIN checked: (input, attempt, kind)
            elif isinstance(node, ast.Assign):
                first = _assigned_kind(node)
            elif isinstance(node, ast.Tuple) and len(node.elts) == 3:
                # (kind, severity, detail): events handed to the store in a batch
                sev = node.elts[1]
                if isinstance(sev, ast.Constant) and sev.value in SEVERITIES:
                    first = node.elts[0]
            kinds = _kinds_of(first) if first is not None else None
            for kind in kinds or []:
                found.setdefault(kind, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_the_scan_finds_the_daemons_events() -> None:
    kinds = emitted_kinds()
    for kind in ("unlock", "wrong_code", "board_offline", "remote_command_refused",
                 "item_still_inside", "self-test_finished"):  # fmt: skip
        assert kind in kinds


def test_every_event_the_daemon_writes_has_a_name() -> None:
    unnamed = {k: where for k, where in emitted_kinds().items() if k not in EVENT_NAMES}
    assert unnamed == {}


def test_no_name_is_kept_for_an_event_that_no_longer_exists() -> None:
    assert set(EVENT_NAMES) - set(emitted_kinds()) == set()


def test_the_names_read_in_german() -> None:
    set_language("de")
    try:
        assert event_name("remote_command_refused") == "Fernbefehl abgelehnt"
        assert event_name("fleet_link_down") == "Netzverbindung unterbrochen"
        untranslated = [k for k, name in EVENT_NAMES.items() if event_name(k) == name]
        assert untranslated == []
    finally:
        set_language("en")


def test_an_unknown_kind_is_shown_as_it_is() -> None:
    assert event_name("something_new") == "something_new"
