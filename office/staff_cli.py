"""``locker-office staff``: couriers and technicians managed centrally, on office/staff.py.

Each change is signed with the office's key and published to the broker from here (a
connection of its own on the operator's listener); a list the broker does not take now
goes out with ``serve``'s keeper. A PIN is typed by the person it belongs to, with their
one-time enrolment code (``enrol``), never given on the command line.
"""

from __future__ import annotations

import argparse
import datetime
import getpass
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy.engine import Engine

from kiosk.fleet.messages import Signer
from office import staff
from office.config import OfficeConfig
from office.ingest.outgoing import CommandSender, OneShotPublisher
from office.prompt import operator_name
from office.store import migrate


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser("staff", help="couriers and technicians, sent to their kiosks")
    actions = cmd.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="a new person (prints their one-time enrolment code)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["courier", "technician"])
    _where(add)
    add.add_argument("--badge", help="the code of their badge (it names them; a PIN is still due)")
    enrol = actions.add_parser("enrol", help="the person sets their PIN with their enrolment code")
    enrol.add_argument("name")
    enrol.add_argument(
        "--stdin", action="store_true", help="read the code, then the PIN, from standard input"
    )
    listing = actions.add_parser("list", help="everyone, or those allowed on a kiosk or site")
    listing.add_argument("--kiosk", help="only those allowed on this kiosk")
    listing.add_argument("--site", help="only those allowed on a kiosk of this site")
    listing.add_argument("--revoked", action="store_true", help="revoked people too")
    change = actions.add_parser("change", help="role, kiosks or badge; or reset the PIN")
    change.add_argument("name")
    change.add_argument("--role", choices=["courier", "technician"])
    _where(change)
    badge = change.add_mutually_exclusive_group()
    badge.add_argument("--badge", help="a new badge code")
    badge.add_argument("--no-badge", action="store_true", help="take the badge away")
    change.add_argument(
        "--reset-pin", action="store_true", help="void the PIN now and print a new enrolment code"
    )
    revoke = actions.add_parser("revoke", help="may no longer sign in anywhere")
    revoke.add_argument("name")
    revoke.add_argument("--why", help="for the audit")
    register = actions.add_parser("register", help="a kiosk's staff key (and site)")
    register.add_argument("kiosk")
    register.add_argument(
        "--key", required=True, help="what 'locker-kiosk users staff-key' prints on the kiosk"
    )
    register.add_argument("--site", help="the kiosk's site, for people allowed on a site")
    unregister = actions.add_parser(
        "unregister", help="a kiosk gets no more staff lists (taken out, or stolen)"
    )
    unregister.add_argument("kiosk")
    actions.add_parser("kiosks", help="each registered kiosk and its newest staff list")


def _where(parser: argparse.ArgumentParser) -> None:
    """Where a person may sign in: --all, or any --site and --kiosk together."""
    parser.add_argument("--all", action="store_true", help="every registered kiosk")
    parser.add_argument("--site", action="append", help="the kiosks of a site (repeatable)")
    parser.add_argument("--kiosk", action="append", help="one kiosk (repeatable)")


def run_staff(config: OfficeConfig, engine: Engine, args: argparse.Namespace) -> int:
    migrate.check_current(engine)
    try:
        if args.action == "list":
            return _list(engine, args)
        if args.action == "kiosks":
            return _kiosks(engine)
        with _sender(config, engine) as sender:
            return _change(sender, args)
    except staff.StaffError as exc:
        print(f"locker-office: {exc}", file=sys.stderr)
        return 1


@contextmanager
def _sender(config: OfficeConfig, engine: Engine) -> Iterator[CommandSender]:
    signing = config.load_signing_key()
    if signing is None:
        raise staff.StaffError(
            f"{config.source}: staff lists are signed: give [signing] key and kid"
        )
    link = OneShotPublisher(config.mqtt)
    try:
        yield CommandSender(engine, link, Signer(*signing))
    finally:
        link.close()


def _change(sender: CommandSender, args: argparse.Namespace) -> int:
    actor = operator_name()
    if args.action == "add":
        done = staff.create_staff(sender, args.name, args.role, _scope(args), actor=actor,
                                  badge=args.badge)  # fmt: skip
    elif args.action == "change":
        badge: str | staff._Keep | None = staff.KEEP
        if args.badge or args.no_badge:
            badge = args.badge
        scope = _scope(args) if (args.all or args.site or args.kiosk) else None
        done = staff.update_staff(sender, args.name, actor=actor, role=args.role, scope=scope,
                                  badge=badge, reset_pin=args.reset_pin)  # fmt: skip
    elif args.action == "revoke":
        done = staff.revoke_staff(sender, args.name, actor=actor, why=args.why)
    elif args.action == "register":
        done = staff.register_kiosk(sender, args.kiosk, args.key, actor=actor, site=args.site)
    elif args.action == "unregister":
        if not staff.unregister_kiosk(sender, args.kiosk, actor=actor):
            raise staff.StaffError(f"{args.kiosk} is not registered")
        print(f"{args.kiosk}: unregistered; it gets no more staff lists")
        return 0
    else:
        code, pin = _code_and_pin(args.stdin)
        done = staff.enrol_staff(sender, args.name, code, pin)
    _report(args, done)
    return 0


def _scope(args: argparse.Namespace) -> staff.Scope:
    if args.all:
        return staff.Scope.all()
    return staff.Scope(sites=tuple(args.site or ()), kiosks=tuple(args.kiosk or ()))


def _code_and_pin(from_stdin: bool) -> tuple[str, str]:
    if from_stdin:
        return sys.stdin.readline().strip(), sys.stdin.readline().strip()
    if not sys.stdin.isatty():
        raise staff.StaffError("no terminal to ask for the code and the PIN; use --stdin")
    code = getpass.getpass("enrolment code: ")
    pin = getpass.getpass("your new PIN: ")
    if getpass.getpass("the PIN again: ") != pin:
        raise staff.StaffError("the two PINs differ")
    return code, pin


def _report(args: argparse.Namespace, done: staff.StaffChange) -> None:
    what = {"add": "added", "change": "changed", "revoke": "revoked", "enrol": "PIN set",
            "register": "registered"}[args.action]  # fmt: skip
    who = done.member.name if done.member else args.kiosk
    print(f"{who}: {what}{_sent(done.deliveries)}")
    if done.enrolment is not None:
        until = _when(done.enrolment.expires_at)
        print(f"enrolment code for {done.enrolment.name}: {done.enrolment.code} (until {until}, "
              "once). Give it to them alone: they set their PIN with it "
              f"(locker-office staff enrol {done.enrolment.name}, or the console).")  # fmt: skip


def _sent(deliveries: Sequence[staff.Delivery]) -> str:
    if not deliveries:
        return "; no registered kiosk is concerned"
    waiting = [d.kiosk for d in deliveries if not d.published]
    said = f"; staff lists signed for {len(deliveries)} kiosk(s)"
    if waiting:
        said += f", not yet published to {', '.join(waiting)} (serve sends them when it can)"
    return said


def _list(engine: Engine, args: argparse.Namespace) -> int:
    found = staff.list_staff(engine, kiosk=args.kiosk, site=args.site,
                             include_revoked=args.revoked)  # fmt: skip
    print(f"{'NAME':<24} {'ROLE':<11} {'WHERE':<28} {'PIN':<20} STATE")
    for m in found:
        pin = "set" if m.pin_set else ("due " + _when(m.enrolment_open_until)
                                       if m.enrolment_open_until else "none")  # fmt: skip
        state = f"revoked {_when(m.revoked_at)}" if m.revoked_at else "active"
        badge = " (badge)" if m.has_badge else ""
        print(f"{m.name:<24} {m.role:<11} {m.scope.describe()[:28]:<28} {pin:<20} {state}{badge}")
    return 0


def _kiosks(engine: Engine) -> int:
    print(f"{'KIOSK':<20} {'SITE':<16} {'VERSION':<15} {'PEOPLE':<7} {'SENT':<17} ANSWER")
    for k in staff.kiosk_lists(engine):
        answer = "none yet" if k.answered_at is None else ("applied" if k.ok else str(k.reason))
        if k.shadowed:
            answer += f"; local users there: {', '.join(k.shadowed)}"
        print(f"{k.kiosk:<20} {k.site or '-':<16} {k.version or '-'!s:<15} "
              f"{k.people if k.people is not None else '-'!s:<7} "
              f"{_when(k.published_at):<17} {answer}")  # fmt: skip
    return 0


def _when(at: float | None) -> str:
    if at is None:
        return "never"
    return datetime.datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M")
