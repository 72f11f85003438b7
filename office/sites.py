"""Which site each kiosk belongs to, from the config's ``[sites]`` (docs/office.md).

A site is named with kiosk ids or patterns (``BER-*``, ``KIOSK-?``); the first site
whose pattern matches a kiosk's id is its site. ``serve`` assigns every kiosk at start
(the config may have changed) and the sweeper assigns new kiosks as they appear. A
kiosk that no site names has none: only accounts limited to no site see it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlalchemy as sa

from office.store import schema as s

K = s.kiosks.c


def like(pattern: str) -> str:
    """A kiosk-id pattern as SQL LIKE (``\\`` escapes; ``_`` is a character in ids)."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def site_of(rules: Mapping[str, Sequence[str]]) -> sa.ColumnElement[str] | None:
    """A SQL expression giving a kiosk's site by its id, or None without rules."""
    whens = [
        (K.id.like(like(pattern), escape="\\"), sa.literal(site))
        for site, patterns in rules.items()
        for pattern in patterns
    ]
    if not whens:
        return None
    return sa.case(*whens, else_=sa.null())


def assign_all(conn: sa.Connection, rules: Mapping[str, Sequence[str]]) -> None:
    """Every kiosk's site from ``rules`` (a kiosk no rule names loses its site)."""
    expression = site_of(rules)
    conn.execute(s.kiosks.update().values(site=expression if expression is not None else None))


def assign_new(conn: sa.Connection, rules: Mapping[str, Sequence[str]]) -> None:
    """The site of kiosks that have none yet and that a rule names."""
    expression = site_of(rules)
    if expression is None:
        return
    conn.execute(
        s.kiosks.update().where(K.site.is_(None), expression.is_not(None)).values(site=expression)
    )
