"""Reading a TOML file and collecting every problem in it, each naming the key.

The office's own small checker: the kiosk has one of the same shape, but the office
shares only the fleet contract with the kiosk's code (docs/office.md, "The boundary").
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from pathlib import Path
from typing import Any


class OfficeConfigError(Exception):
    """A config with problems; ``problems`` has one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Problems:
    """Every problem found in one file, each as ``"<file>: <key>: <what>"``."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.messages: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.messages.append(
            f"{self.source}: {key}: {message}" if key else f"{self.source}: {message}"
        )

    def __bool__(self) -> bool:
        return bool(self.messages)

    def raise_if_any(self) -> None:
        if self.messages:
            raise OfficeConfigError(self.messages)


def shown(value: object) -> str:
    """A value as written, short, for messages."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Table:
    """One TOML table being read; a bad value is a problem and reading goes on."""

    def __init__(self, raw: object, path: str, problems: Problems) -> None:
        self.path = path
        self.problems = problems
        self.asked: set[str] = set()
        self.data: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if raw is not None and not isinstance(raw, dict):
            problems.add(path, f"must be a table, got {shown(raw)}")

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def problem(self, name: str, message: str) -> None:
        self.problems.add(self.key(name), message)

    def table(self, name: str) -> Table:
        self.asked.add(name)
        return Table(self.data.get(name), self.key(name), self.problems)

    def _raw(self, name: str, required: bool) -> tuple[bool, Any]:
        self.asked.add(name)
        if name in self.data:
            return True, self.data[name]
        if required:
            self.problem(name, "missing (required)")
        return False, None

    def get_str(
        self, name: str, default: str | None = None, pattern: str | None = None, rule: str = ""
    ) -> str:
        found, value = self._raw(name, default is None)
        if not found:
            return default or ""
        if not isinstance(value, str):
            self.problem(name, f"must be a string, got {shown(value)}")
            return default or ""
        if pattern is not None and not re.fullmatch(pattern, value):
            self.problem(name, f"must be {rule or pattern}, got {shown(value)}")
            return default or ""
        return value

    def get_bool(self, name: str, default: bool) -> bool:
        found, value = self._raw(name, False)
        if found and not isinstance(value, bool):
            self.problem(name, f"must be true or false, got {shown(value)}")
            return default
        return value if found else default

    def get_number(
        self, name: str, default: float, minimum: float, maximum: float, integer: bool = False
    ) -> float:
        found, value = self._raw(name, False)
        if not found:
            return default
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (integer and not isinstance(value, int))
            or not math.isfinite(value)
        ):
            self.problem(
                name, f"must be {'an integer' if integer else 'a number'}, got {shown(value)}"
            )
            return default
        if not minimum <= value <= maximum:
            self.problem(name, f"must be between {minimum:g} and {maximum:g}, got {value:g}")
            return default
        return value

    def get_int(self, name: str, default: int, minimum: int, maximum: int) -> int:
        return int(self.get_number(name, default, minimum, maximum, integer=True))

    def check_unknown(self) -> None:
        for name in self.data:
            if name not in self.asked:
                close = difflib.get_close_matches(name, sorted(self.asked), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.problem(name, "unknown key" + hint)


def read_toml(path: Path, problems: Problems) -> dict[str, Any] | None:
    """The document at ``path``, or ``None`` with the reason in ``problems``."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        problems.add("", "no such file (give --config FILE, or set LOCKER_OFFICE_CONFIG)")
    except OSError as exc:
        problems.add("", f"cannot read: {exc.strerror or exc}")
    except UnicodeDecodeError:
        problems.add("", "not valid TOML: the file is not UTF-8 text")
    except tomllib.TOMLDecodeError as exc:
        problems.add("", f"not valid TOML: {exc}")
    return None
