"""Typed getters for reading a parsed TOML document and collecting every problem.

:class:`Table` wraps one TOML table. Each ``get_*`` call checks the type and range of
one key; a bad or missing value is recorded in the shared :class:`Problems` and the
getter returns the default (or a placeholder), so reading goes on and one run reports
everything that is wrong. After reading, :meth:`Table.check_unknown` reports every key
that no getter asked for, with a "did you mean" suggestion.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin

T = TypeVar("T")

# what a kiosk id, a board's name and a power group are made of
ID_RULE = "1-32 characters of A-Z, a-z, 0-9, '_' and '-'"
ID_PATTERN = r"[A-Za-z0-9_-]{1,32}"

_KINDS: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),  # before int: a bool is an int in Python
    (int, "integer"),
    (float, "float"),
    (str, "string"),
    (list, "array"),
    (dict, "table"),
)

_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def kind_of(value: object) -> str:
    """The TOML name of a value's type ("string", "integer", ...)."""
    for cls, name in _KINDS:
        if isinstance(value, cls):
            return name
    return "date/time"


def describe(value: object) -> str:
    """A value as the operator wrote it, for messages: ``'abc' (string)``."""
    kind = kind_of(value)
    if kind in ("array", "table"):
        return f"an {kind}" if kind == "array" else f"a {kind}"
    if isinstance(value, bool):
        shown = "true" if value else "false"
    elif isinstance(value, float):
        shown = number(value)
    else:
        shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"{shown} ({kind})"


def number(value: float) -> str:
    """``72.0`` as ``72``, ``0.5`` as ``0.5``."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def suggest(name: str, known: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` or, without a close match, the known names."""
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1)
    if close:
        return f" (did you mean {close[0]!r}?)"
    if names:
        return f" (known: {', '.join(names)})"
    return ""


class Problems:
    """Every problem found in one file, each as ``"<file>: <key>: <what>"``."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.messages: list[str] = []

    def add(self, key: str, message: str) -> None:
        where = f"{self.source}: {key}: " if key else f"{self.source}: "
        self.messages.append(where + message)

    def __bool__(self) -> bool:
        return bool(self.messages)


class Table:
    """One TOML table being read; ``path`` is its key path (``"doors"``, ``"boards[1]"``)."""

    def __init__(self, raw: object, path: str, problems: Problems) -> None:
        self.path = path
        self.problems = problems
        self.asked: set[str] = set()
        self.data: dict[str, Any] = {}
        if isinstance(raw, dict):
            self.data = raw
        elif raw is not None:
            problems.add(path, f"must be a table, got {describe(raw)}")

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def has(self, name: str) -> bool:
        return name in self.data

    def problem(self, name: str, message: str) -> None:
        self.problems.add(self.key(name), message)

    def _get(self, name: str, default: T | None, placeholder: T) -> tuple[bool, Any]:
        """``(True, raw value)`` if present; else ``(False, default)`` or a required problem."""
        self.asked.add(name)
        if name in self.data:
            return True, self.data[name]
        if default is None:
            self.problem(name, "missing (required)")
            return False, placeholder
        return False, default

    def get_int(
        self,
        name: str,
        default: int | None = None,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
        cap: str = "",
    ) -> int:
        """An integer (never a bool or a float). ``cap`` explains a hard ``maximum``."""
        present, value = self._get(name, default, 0)
        if not present:
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(name, f"must be an integer, got {describe(value)}")
            return default or 0
        if not self._in_range(name, value, minimum, maximum, cap=cap):
            return default or 0
        return value

    def get_float(
        self,
        name: str,
        default: float | None = None,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        above: float | None = None,
    ) -> float:
        """A finite number (an integer is fine). ``above`` is an exclusive minimum."""
        present, value = self._get(name, default, 0.0)
        if not present:
            return float(value)
        checked = self.check_float(self.key(name), value, minimum, maximum, above)
        return (default or 0.0) if checked is None else checked

    def check_float(
        self,
        key: str,
        value: object,
        minimum: float | None = None,
        maximum: float | None = None,
        above: float | None = None,
    ) -> float | None:
        """``value`` as a float, or ``None`` after recording why it is not acceptable."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problems.add(key, f"must be a number, got {describe(value)}")
            return None
        result = float(value)
        if not math.isfinite(result):
            self.problems.add(key, f"must be a finite number, got {describe(value)}")
            return None
        if above is not None and result <= above:
            self.problems.add(key, f"must be greater than {number(above)}, got {number(result)}")
            return None
        if not self._in_range(key, result, minimum, maximum, is_key=True):
            return None
        return result

    def _in_range(
        self,
        name: str,
        value: float,
        minimum: float | None,
        maximum: float | None,
        *,
        cap: str = "",
        is_key: bool = False,
    ) -> bool:
        key = name if is_key else self.key(name)
        got = f"got {number(value)}"
        low = minimum is not None and value < minimum
        high = maximum is not None and value > maximum
        if not (low or high):
            return True
        if high and cap:
            message = f"must be at most {number(maximum or 0)} ({cap}), {got}"
        elif minimum is not None and maximum is not None:
            message = f"must be between {number(minimum)} and {number(maximum)}, {got}"
        elif low:
            message = f"must be at least {number(minimum or 0)}, {got}"
        else:
            message = f"must be at most {number(maximum or 0)}, {got}"
        self.problems.add(key, message)
        return False

    def get_str(
        self,
        name: str,
        default: str | None = None,
        *,
        choices: Iterable[str] = (),
        pattern: str = "",
        rule: str = "",
    ) -> str:
        """A string, optionally one of ``choices`` or matching ``pattern`` (told as ``rule``)."""
        present, value = self._get(name, default, "")
        if not present:
            return str(value)
        if not isinstance(value, str):
            self.problem(name, f"must be a string, got {describe(value)}")
            return default or ""
        options = tuple(choices)
        if options and value not in options:
            self.problem(name, f"must be one of {', '.join(options)}, got {value!r}")
            return default or ""
        if pattern and not re.fullmatch(pattern, value):
            self.problem(name, f"must be {rule or 'like ' + pattern}, got {value!r}")
            return default or ""
        return value

    def get_by_language(self, name: str, default: str, languages: Sequence[str]) -> dict[str, str]:
        """A text given once for every language (a string) or per language (a table by
        language code, ``{en = "...", de = "..."}``), as ``{language: text}`` for each of
        ``languages``. A table must give each of them, and only them: a screen in one
        language never shows a text meant for another."""
        present, value = self._get(name, default, default)
        if not present or isinstance(value, str):
            return dict.fromkeys(languages, str(value) or default)
        if not isinstance(value, dict):
            self.problem(name, f"must be a string or a table by language, got {describe(value)}")
            return dict.fromkeys(languages, default)
        texts: dict[str, str] = {}
        for code, text in value.items():
            if code not in languages:
                self.problem(
                    f"{name}.{code}", f"is not one of kiosk.languages ({', '.join(languages)})"
                )
            elif not isinstance(text, str):
                self.problem(f"{name}.{code}", f"must be a string, got {describe(text)}")
            else:
                texts[code] = text or default
        for code in languages:
            if code not in value:
                self.problem(
                    name, f"gives no text for {code!r} (kiosk.languages: {', '.join(languages)})"
                )
        return {code: texts.get(code, default) for code in languages}

    def get_bool(self, name: str, default: bool | None = None) -> bool:
        present, value = self._get(name, default, False)
        if present and not isinstance(value, bool):
            self.problem(name, f"must be true or false, got {describe(value)}")
            return bool(default)
        return bool(value)

    def get_list(
        self,
        name: str,
        default: tuple[T, ...],
        item: Callable[[str, object], T | None],
    ) -> tuple[T, ...]:
        """An array; ``item(key, value)`` converts one element or returns ``None`` (bad)."""
        present, value = self._get(name, default, default)
        if not present:
            return tuple(value)
        if not isinstance(value, list):
            self.problem(name, f"must be an array, got {describe(value)}")
            return default
        items = [item(f"{self.key(name)}[{i}]", element) for i, element in enumerate(value)]
        if any(converted is None for converted in items):
            return default
        return tuple(converted for converted in items if converted is not None)

    def check_typed(self, name: str, kind: type, value: object) -> object:
        """``value`` if it is a ``kind`` (an integer is fine for a float, a bool never an int).

        ``kind`` may be ``list[T]``: an array whose every element is checked as a ``T``
        (a problem per bad element, keyed ``name[i]``).
        """
        if get_origin(kind) is list:
            if not isinstance(value, list):
                self.problem(name, f"must be an array, got {describe(value)}")
                return value
            (element,) = get_args(kind)
            return [self.check_typed(f"{name}[{i}]", element, v) for i, v in enumerate(value)]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return value
        expected = _TYPE_NAMES.get(kind, f"of type {kind.__name__}")
        self.problem(name, f"must be {expected}, got {describe(value)}")
        return value

    def table(self, name: str) -> Table:
        """A sub-table (empty when absent)."""
        self.asked.add(name)
        return Table(self.data.get(name), self.key(name), self.problems)

    def tables(self, name: str) -> list[Table] | None:
        """An array of tables; ``None`` when absent or not an array."""
        self.asked.add(name)
        if name not in self.data:
            return None
        raw = self.data[name]
        if not isinstance(raw, list):
            self.problem(name, f"must be an array of tables ([[{name}]]), got {describe(raw)}")
            return None
        return [
            Table(entry, f"{self.key(name)}[{i}]", self.problems) for i, entry in enumerate(raw)
        ]

    def rest(self) -> dict[str, Any]:
        """Every key no getter has asked for yet (and mark them asked)."""
        extra = {name: value for name, value in self.data.items() if name not in self.asked}
        self.asked.update(extra)
        return extra

    def check_unknown(self) -> None:
        """Report every key that no getter asked for."""
        for name in self.data:
            if name not in self.asked:
                self.problem(name, "unknown key" + suggest(name, self.asked))


def read_toml(
    path: Path, problems: Problems, missing: str = "cannot read: file not found"
) -> dict[str, Any] | None:
    """The TOML document at ``path``, or ``None`` with the reason in ``problems``.

    A document nested deeper than :data:`MAX_NESTING` anywhere is refused too, one
    problem per top-level key where it happens, so nothing that reads the document
    after this has to be ready for a structure no config needs.
    """
    try:
        with path.open("rb") as fh:
            document = tomllib.load(fh)
    except FileNotFoundError:
        problems.add("", missing)
    except OSError as exc:
        problems.add("", f"cannot read: {exc.strerror or exc}")
    except UnicodeDecodeError:
        problems.add("", "not valid TOML: the file is not UTF-8 text")
    except tomllib.TOMLDecodeError as exc:
        problems.add("", f"not valid TOML: {exc}")
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        problems.add("", f"arrays or tables nested too deeply to read; {_NESTING_RULE}")
    else:
        for name, value in document.items():
            deep = _too_deep(value, name)
            if deep is not None:
                problems.add(deep, f"arrays or tables nested deeper than this; {_NESTING_RULE}")
        return None if problems else document
    return None


MAX_NESTING = 8
"""How many arrays and tables deep a config may go. The deepest setting is 3 down (the
table ``[[boards]]`` holds an array, ``boards[0].lock_pins``); 8 leaves room, and keeps
anything that walks a document from meeting a structure hundreds of levels deep."""

_NESTING_RULE = f"no setting needs more than {MAX_NESTING} levels"


def _too_deep(value: object, key: str) -> str | None:
    """The key path of the first array or table below ``key`` deeper than :data:`MAX_NESTING`
    (``key`` itself being 1 deep), or ``None``. Walked without recursion."""
    stack: list[tuple[object, str, int]] = [(value, key, 1)]
    while stack:
        node, path, depth = stack.pop()
        if not isinstance(node, dict | list):
            continue
        if depth > MAX_NESTING:
            return path
        if isinstance(node, dict):
            stack += [(v, f"{path}.{_short(k)}", depth + 1) for k, v in node.items()]
        else:
            stack += [(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(node)]
    return None


def _short(name: str) -> str:
    return name if len(name) <= 40 else name[:37] + "..."
