"""``locker-kiosk users``: couriers and technicians, managed offline on the data dir."""

from __future__ import annotations

import argparse
import getpass
import sys

from kiosk import pins
from kiosk.codes import load_or_create_key
from kiosk.config import Config
from kiosk.data_dir import prepare_data_dir
from kiosk.domain import Role
from kiosk.errors import ConflictError, InvalidInput
from kiosk.store import Store


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
        description="Add a person. The PIN (4 to 12 digits, unique on this kiosk) is asked "
        "for twice at the terminal, or read from standard input with --pin-stdin.",
    )
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=[str(r) for r in Role])
    add.add_argument("--badge", help="badge code a courier may scan instead of typing a PIN")
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


def run(args: argparse.Namespace, config: Config) -> int:
    prepare_data_dir(config.kiosk.data_dir)
    store = Store(config.kiosk.data_dir / "kiosk.db")
    try:
        if args.users_command == "add":
            key = load_or_create_key(config.kiosk.data_dir / "kiosk.key")
            pin = pins.validate_pin(read_pin(args.pin_stdin))
            if any(pins.verify_pin(pin, u.pin_hash) for u in store.users()):
                raise ConflictError("that PIN is already used by someone else; choose another")
            badge = pins.badge_tag(key, args.badge.strip()) if args.badge else None
            user = store.add_user(args.name, Role(args.role), pins.hash_pin(pin), badge)
            print(f"added {user.role} {user.name}" + (" with a badge" if badge else ""))
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
        store.close()
    return 0
