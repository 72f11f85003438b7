"""``locker-office users``: the console's accounts. There is no default account: the
first admin is made here, with a password typed twice (or from standard input)."""

from __future__ import annotations

import argparse
import datetime
import sys

from sqlalchemy.engine import Engine

from office.passwords import WeakPassword, check_strength
from office.prompt import operator_name, read_password
from office.store import accounts, migrate
from office.vocab import Role


def run_users(engine: Engine, args: argparse.Namespace) -> int:
    migrate.check_current(engine)
    actor = operator_name()
    try:
        if args.action == "list":
            return _list(engine)
        if args.action == "disable":
            with engine.begin() as conn:
                accounts.disable(conn, args.username, actor)
            print(f"{args.username}: disabled and signed out")
            return 0
        password = read_password(args)
        check_strength(password, args.username)
        with engine.begin() as conn:
            if args.action == "add":
                accounts.add(conn, args.username, password, Role(args.role), args.site, actor)
            else:
                accounts.set_password(conn, args.username, password, actor)
    except (accounts.AccountError, WeakPassword, ValueError) as exc:
        print(f"locker-office: {exc}", file=sys.stderr)
        return 1
    print(f"{args.username}: {'added' if args.action == 'add' else 'password changed'}")
    return 0


def _list(engine: Engine) -> int:
    with engine.connect() as conn:
        found = accounts.accounts(conn)
    print(f"{'USER':<20} {'ROLE':<11} {'SITES':<20} {'LAST LOGIN':<17} STATE")
    for a in found:
        last = _when(a.last_login_at)
        state = "disabled" if a.disabled_at else "active"
        print(f"{a.username:<20} {a.role:<11} {', '.join(a.sites) or 'all':<20} {last:<17} {state}")
    return 0


def _when(at: float | None) -> str:
    if at is None:
        return "never"
    return datetime.datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M")
