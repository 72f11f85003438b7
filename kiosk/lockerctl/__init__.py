"""``lockerctl``: the command line for technicians and scripts.

A client of the daemon's local API and nothing else: it owns no state and touches no hardware.
Every command takes ``--json`` (print exactly what the API returned, nothing else on stdout)
and ``--socket``. Exit codes: 0 done, 1 the daemon refused or something failed, 2 wrong usage,
3 the daemon cannot be reached, 4 throttled, 130 interrupted; 0 too, without a word, when
whoever reads the output stops (``lockerctl events --follow | head``).

A PIN is read from ``$LOCKER_PIN`` or the terminal and never printed; a pickup code is
asked for without echo or read from standard input (an argument would show it in
``ps``), and never appears in an error message.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Any

from kiosk.lockerctl import tools as ctl_tools
from kiosk.lockerctl.commands import (
    cmd_announce,
    cmd_clear_check,
    cmd_clock_confirm,
    cmd_compartments,
    cmd_deposit,
    cmd_events,
    cmd_extend,
    cmd_guard_reset,
    cmd_in_service,
    cmd_open,
    cmd_open_all,
    cmd_out_of_service,
    cmd_parcels,
    cmd_pickup,
    cmd_returns,
    cmd_selftest,
    cmd_status,
    confirm_open_all,
)
from kiosk.lockerctl.io import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_THROTTLED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    PROG,
    CtlError,
    Handler,
    Out,
    read_pin,
    read_user,
    sign_out_quietly,
    warn,
)
from kiosk.protocol.client import ApiClient, ApiError, DaemonUnreachable, socket_path


def make_client(socket: str) -> ApiClient:
    """Build the API client; tests replace this to put a mock transport underneath."""
    return ApiClient(socket)


# -- the parser ---------------------------------------------------------------------------

DESCRIPTION = """\
Talk to the parcel-locker kiosk daemon on this machine: read its state, open doors, run the
hardware self-test, deposit and pick up parcels. Every command takes --json for scripts."""

EPILOG = f"""\
examples:
  lockerctl status
  lockerctl compartments --json | jq '.compartments[] | select(.state == "OUT_OF_SERVICE")'
  lockerctl events --follow
  LOCKER_USER=anna LOCKER_PIN=... lockerctl deposit 1Z999AA10123456784 --size M --email a@b.de
  lockerctl selftest --take-out-of-service
{ctl_tools.EPILOG}
environment:
  LOCKER_SOCKET  the daemon's socket (default /run/locker-kiosk/api.sock)
  LOCKER_USER    who signs in, for commands that do (or --user; otherwise asked for)
  LOCKER_PIN     their PIN (otherwise asked for on the terminal)

exit codes: 0 ok, 1 refused or failed, 2 usage, 3 daemon unreachable, 4 throttled,
130 interrupted"""

COURIER, TECHNICIAN = "courier", "technician"

PICKUP_WHY = """\
Pick up a parcel with its code. Leave CODE out: lockerctl then asks for it without
showing it, or reads it from standard input when that is not a terminal. A code on the
command line can be read by every user of this machine in the process list (ps) while
lockerctl runs, and stays in your shell's history."""

PICKUP_EXAMPLES = f"""\
examples:
  {PROG} pickup                  asks for the code; what you type is not shown
  {PROG} pickup < code.txt       reads the first line of a file (or a pipe)"""


def shared_options(with_defaults: bool) -> argparse.ArgumentParser:
    """--socket/--json/--user, valid before and after the command name.

    On the sub-commands the defaults are suppressed, so a value given before the command name
    is not overwritten by the sub-command's default.
    """
    parent = argparse.ArgumentParser(add_help=False)

    def default(value: Any) -> Any:
        return value if with_defaults else argparse.SUPPRESS

    parent.add_argument(
        "--socket", metavar="PATH", default=default(None), help="the daemon's socket"
    )
    parent.add_argument(
        "--json", action="store_true", default=default(False), help="print the API's JSON only"
    )
    who = "user to sign in as, for commands that sign in (default $LOCKER_USER)"
    parent.add_argument("--user", metavar="NAME", default=default(None), help=who)
    return parent


COMMANDS: list[tuple[str, Handler, str | None, str, str]] = [
    # name, handler, who signs in, what it does, an example after "lockerctl "
    ("status", cmd_status, None, "Show the kiosk's health at a glance.", "status"),
    ("compartments", cmd_compartments, None, "List compartments and their doors.", "compartments"),
    ("parcels", cmd_parcels, None, "List parcels.", "parcels --state STORED"),
    ("events", cmd_events, None, "Show, follow or verify the event log.", "events --follow"),
    ("announce", cmd_announce, COURIER, "Announce a parcel before it arrives.",
     "announce 1Z999AA10123456784 --size M --email a@example.org"),
    ("deposit", cmd_deposit, COURIER, "Put a parcel in: opens a door of the right size.",
     "deposit 1Z999AA10123456784 --size M --phone +4915112345678"),
    ("pickup", cmd_pickup, None, "Pick up a parcel with its code.", "pickup"),
    ("open", cmd_open, TECHNICIAN, "Open one door.", "open A07"),
    ("open-all", cmd_open_all, TECHNICIAN, "Open every door, one after the other.",
     "open-all --yes"),
    ("selftest", cmd_selftest, TECHNICIAN, "Fire every lock, read every sensor; exit 1 on a fault.",
     "selftest --take-out-of-service"),
    ("out-of-service", cmd_out_of_service, TECHNICIAN, "Stop handing out a compartment.",
     'out-of-service A07 --reason "hinge broken"'),
    ("in-service", cmd_in_service, TECHNICIAN, "Put a compartment back in service.",
     "in-service A07"),
    ("clear-check", cmd_clear_check, TECHNICIAN,
     "Say a compartment that needed a check was checked: it may be handed out again.",
     "clear-check A07"),
    ("extend", cmd_extend, TECHNICIAN,
     "Give the recipient more time: move a parcel's pickup deadline later.",
     "extend 1Z999AA10123456784 --hours 24"),
    ("returns", cmd_returns, COURIER, "Collect expired parcels, one door at a time.", "returns"),
    ("guard-reset", cmd_guard_reset, TECHNICIAN,
     "Let doors open again after the mass-open guard stopped them.", "guard-reset"),
    ("clock-confirm", cmd_clock_confirm, TECHNICIAN,
     "The clock shows the right time: let parcels expire by it after a jump.", "clock-confirm"),
    *ctl_tools.COMMANDS,
]  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[shared_options(True)],
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    parent = shared_options(False)
    subs = {}
    for name, handler, role, summary, example in COMMANDS:
        subs[name] = subparsers.add_parser(
            name,
            help=summary,
            description=summary + (f" Signs in as a {role}." if role else ""),
            epilog=f"example:\n  {PROG} {example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
            parents=[parent],
        )
        subs[name].set_defaults(handler=handler, role=role)
    add_arguments(subs)
    return parser


def add_arguments(p: dict[str, argparse.ArgumentParser]) -> None:
    p["parcels"].add_argument("--state", type=str.upper, help="only this state (e.g. EXPIRED)")
    how = p["events"].add_mutually_exclusive_group()
    how.add_argument("--follow", "-f", action="store_true", help="print new events until Ctrl-C")
    how.add_argument("--verify", action="store_true", help="check the log has not been altered")
    p["events"].add_argument("--limit", type=positive, default=20, metavar="N", help="default 20")
    for name in ("announce", "deposit"):
        p[name].add_argument("barcode", help="the parcel's tracking barcode")
        p[name].add_argument("--phone", metavar="P", help="recipient's phone number")
        p[name].add_argument("--email", metavar="E", help="recipient's e-mail address")
    p["announce"].add_argument("--size", required=True, type=str.upper, help="S, M, L, XL…")
    p["deposit"].add_argument("--size", type=str.upper, help="default: from the announcement")
    p["deposit"].add_argument("--accessible", action="store_true", help="a low compartment")
    p["pickup"].add_argument(
        "code", nargs="?", metavar="CODE", help="the pickup code: better left out (see above)"
    )
    p["pickup"].description = PICKUP_WHY
    p["pickup"].epilog = PICKUP_EXAMPLES
    for name in ("deposit", "pickup"):
        p[name].add_argument("--no-wait", action="store_true", help="do not wait for the door")
    for name in ("open", "out-of-service", "in-service", "clear-check"):
        p[name].add_argument("compartment", type=str.upper, help="e.g. A07")
    p["out-of-service"].add_argument("--reason", required=True, metavar="TEXT", help="why")
    p["extend"].add_argument("barcode", help="the parcel's tracking barcode")
    more = "how many hours more (policy.max_extend_hours in all)"
    p["extend"].add_argument("--hours", required=True, type=hours, metavar="N", help=more)
    p["open-all"].add_argument("--yes", "-y", action="store_true", help="do not ask first")
    p["selftest"].add_argument(
        "--take-out-of-service", action="store_true", help="take failing compartments out"
    )
    with_parcels = "open the doors that hold parcels too (skipped by default)"
    for name in ("open-all", "selftest"):
        p[name].add_argument("--include-parcels", action="store_true", help=with_parcels)
    ctl_tools.add_arguments(p)


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def hours(text: str) -> float:
    value = float(text)
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError("must be a number of hours above 0")
    return value


# -- running ------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    handler: Handler = args.handler
    out = Out(args.json)
    if args.command == "open-all":
        confirm_open_all(args)
    elif args.command == "discover":
        ctl_tools.confirm_discover(args)
    with make_client(socket_path(args.socket)) as client:
        try:
            if args.role:
                user = read_user(args.role, args.user)
                client.sign_in(read_pin(args.role), user=user)
            return handler(client, args, out)
        finally:
            sign_out_quietly(client)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2): return it, do not exit
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    if args.command is None:
        parser.print_usage(sys.stderr)
        warn("a command is needed; see lockerctl --help")
        return EXIT_USAGE
    try:
        return run(args)
    except ApiError as exc:
        if exc.is_throttled:
            wait = math.ceil(exc.retry_after or 0)
            warn(exc.message)
            warn(f"try again in {wait} s")
            return EXIT_THROTTLED
        warn(exc.message)
        return EXIT_FAILED
    except DaemonUnreachable as exc:
        warn(str(exc))
        return EXIT_UNREACHABLE
    except CtlError as exc:
        warn(str(exc))
        return exc.code
    except KeyboardInterrupt:
        warn("interrupted; the kiosk carries on with any door already open")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``lockerctl events --follow | head``): that ends the
        # command as Ctrl-C would, quietly. Output still buffered must not fail again
        # when Python flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
