"""``locker-kiosk users``: couriers and technicians, managed offline on the data dir."""

from __future__ import annotations

import argparse
import getpass
import re
import sys

from kiosk.access import pins
from kiosk.config import Config
from kiosk.daemon.data_dir import keep_mark_offline, open_data_dir, prepare_data_dir
from kiosk.domain import Role
from kiosk.errors import ConflictError, InvalidInput
from kiosk.store import Store

NAME = re.compile(r"[A-Za-z0-9-]{1,32}")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = sub.add_parser(
        "users",
        help="add, list or remove couriers and technicians",
        description="Manage the people who may sign in at the kiosk. Works on the data dir "
        "named by the config, with or without the daemon running.",
    )
    # --config may come before or after the subcommand ("users --config F add ..." and
    # "users add ... --config F"); the parsed value is checked in the CLI's dispatch.
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--config", default=argparse.SUPPRESS, help="the kiosk's TOML config")
    where.add_argument("--data-dir", default=argparse.SUPPRESS,
                       help="use this data dir instead of the config's")  # fmt: skip
    users.add_argument("--config", help="the kiosk's TOML config")
    users.add_argument("--data-dir", help="use this data dir instead of the config's")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser(
        "add",
        parents=[where],
        help="add a courier or technician",
        description="Add a person. They sign in with their name (or badge) and PIN. The PIN "
        "is asked for twice at the terminal, or read from standard input with --pin-stdin; it "
        "has at least security.courier_pin_digits (6) or security.technician_pin_digits (8) "
        "digits, and is not one a guesser tries first (000000, 123456, 654321...). The name "
        "is what they type on the kiosk's keyboard: letters A-Z, digits and '-'.",
    )
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=[str(r) for r in Role])
    add.add_argument("--badge", help="badge code that names this person when scanned "
                     "(they still type their PIN)")  # fmt: skip
    add.add_argument("--pin-stdin", action="store_true", help="read the PIN from stdin")
    users_sub.add_parser("list", parents=[where], help="list the people who may sign in")
    remove = users_sub.add_parser("remove", parents=[where], help="remove a person")
    remove.add_argument("name")


def read_pin(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().strip()
    if not sys.stdin.isatty():
        raise InvalidInput("no terminal to ask for the PIN; use --pin-stdin")
    first = getpass.getpass("PIN: ")
    if getpass.getpass("PIN again: ") != first:
        raise InvalidInput("the two PINs differ")
    return first


def check_name(name: str, store: Store) -> str:
    """``name`` if a new person may have it; :class:`InvalidInput` or
    :class:`ConflictError` saying why not."""
    if not NAME.fullmatch(name):
        raise InvalidInput(
            f"a name is 1 to 32 letters A-Z, digits or '-', as the kiosk's keyboard types "
            f"them; got {name[:40]!r}"
        )
    taken = store.user_by_name(name)
    if taken is not None:
        raise ConflictError(f"a user named {taken.name!r} exists (the kiosk reads names "
                            "without regard to capitals)")  # fmt: skip
    return name


def add(args: argparse.Namespace, config: Config, store: Store, key: bytes) -> None:
    role = Role(args.role)
    name = check_name(args.name, store)
    pin = pins.check_new_pin(read_pin(args.pin_stdin), str(role),
                             config.security.pin_digits(role))  # fmt: skip
    badge = pins.badge_tag(key, args.badge.strip()) if args.badge else None
    user = store.add_user(name, role, pins.hash_pin(pin), badge)
    print(f"added {user.role} {user.name}" + (" with a badge" if badge else ""))


def run(args: argparse.Namespace, config: Config) -> int:
    prepare_data_dir(config.kiosk.data_dir)
    # The same checks as the daemon's start: a lost database or key is refused here
    # too, or adding a person would make the empty kiosk the daemon then starts with.
    opened = open_data_dir(config)
    store, key = opened.store, opened.key
    keeper = keep_mark_offline(opened, config)
    try:
        if args.users_command == "add":
            add(args, config, store, key)
        elif args.users_command == "list":
            rows = store.users()
            if not rows:
                print("no users yet: add one with "
                      "'locker-kiosk users add NAME --role courier --config FILE'")  # fmt: skip
            for u in rows:
                print(f"{u.name:<24} {u.role:<11} {'badge' if u.has_badge else ''}")
        else:
            store.remove_user(args.name)
            print(f"removed {args.name}")
    finally:
        if keeper is not None:
            keeper.close()
        store.close()
    return 0
