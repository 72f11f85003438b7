"""``locker-kiosk users``: couriers and technicians, managed offline on the data dir.

These are the kiosk's **local** users; the operator's centrally managed staff come in
signed lists over the network and are only listed here (kiosk/access/people.py says who signs
in on a clash of names: the local user). ``staff-key`` prints the key the back office
seals this kiosk's staff list to."""

from __future__ import annotations

import argparse
import getpass
import sys

from kiosk.access import pins
from kiosk.access.people import describe, people
from kiosk.config import Config
from kiosk.daemon.data_dir import keep_mark_offline, open_data_dir, prepare_data_dir
from kiosk.domain import Role
from kiosk.errors import ConflictError, InvalidInput, NotFound
from kiosk.store import Store

NAME = pins.PERSON_NAME


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
    users_sub.add_parser(
        "list",
        parents=[where],
        help="list the people who may sign in",
        description="Everyone who may sign in: local users and the operator's central "
        "staff (from the last staff list the network sent), each marked local or central. "
        "Where a name is both, the local user signs in and the central one is shadowed.",
    )
    remove = users_sub.add_parser("remove", parents=[where], help="remove a local user")
    remove.add_argument("name")
    users_sub.add_parser(
        "staff-key",
        parents=[where],
        help="print the key the back office seals this kiosk's staff list to",
        description="The kiosk's staff key (public; derived from kiosk.key). Register it "
        "in the operator's back office once: locker-office staff register KIOSK --key KEY.",
    )


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
    central = store.staff_by_name(name)
    if central is not None:
        print(f"note: {central.name} is also on the operator's staff list; here the local "
              "user signs in under that name")  # fmt: skip


def remove(args: argparse.Namespace, store: Store) -> None:
    try:
        store.remove_user(args.name)
    except NotFound:
        if store.staff_by_name(args.name) is not None:
            raise NotFound(f"{args.name!r} is on the operator's staff list, not a local user: "
                           "revoke them in the back office") from None  # fmt: skip
        raise
    print(f"removed {args.name}")


def list_people(store: Store) -> None:
    found = people(store)
    if not found:
        print("no users yet: add one with "
              "'locker-kiosk users add NAME --role courier --config FILE'")  # fmt: skip
    for person in found:
        print(describe(person))


def staff_key(config: Config, key: bytes) -> None:
    # Imported here: the sealing code loads cryptography, which the daemon (whose command
    # line knows this subcommand) never needs without a fleet link.
    from kiosk.fleet import sealed

    print(f"{config.kiosk.id} staff key: {sealed.public_text(sealed.kiosk_staff_key(key))}")


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
            list_people(store)
        elif args.users_command == "staff-key":
            staff_key(config, key)
        else:
            remove(args, store)
    finally:
        if keeper is not None:
            keeper.close()
        store.close()
    return 0
