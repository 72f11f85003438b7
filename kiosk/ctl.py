"""``lockerctl``: the command line for technicians and scripts.

A client of the daemon's local API and nothing else: it owns no state and touches no hardware.
Every command takes ``--json`` (print exactly what the API returned, nothing else on stdout)
and ``--socket``. Exit codes: 0 done, 1 the daemon refused or something failed, 2 wrong usage,
3 the daemon cannot be reached, 4 throttled, 130 interrupted; 0 too, without a word, when
whoever reads the output stops (``lockerctl events --follow | head``).

A PIN is read from ``$LOCKER_PIN`` or the terminal and never printed; a pickup code never
appears in an error message.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import math
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from kiosk import ctl_format as fmt
from kiosk import ctl_tools
from kiosk.client import ApiClient, ApiError, DaemonUnreachable, socket_path

PROG = "lockerctl"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_THROTTLED = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130
# Seconds per long-poll of an operation or job; a live answer after this long means "no news".
POLL_S = 30.0
DOOR_OPEN_STATUSES = {"OPENED", "LEFT_OPEN"}

Handler = Callable[[ApiClient, argparse.Namespace, "Out"], int]


def make_client(socket: str) -> ApiClient:
    """Build the API client; tests replace this to put a mock transport underneath."""
    return ApiClient(socket)


def is_terminal() -> bool:
    """Whether a person can be asked something (a PIN, a confirmation)."""
    return sys.stdin.isatty()


class CtlError(Exception):
    """A failure on this side of the socket, with the exit code it deserves."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


class Out:
    """Where results go: text for a person, or the API's JSON for a script, never both."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def say(self, text: str) -> None:
        if not self.as_json:
            print(text, flush=True)

    def data(self, data: Any, compact: bool = False) -> None:
        if self.as_json:
            indent = None if compact else 2
            print(json.dumps(data, indent=indent, ensure_ascii=False), flush=True)

    def show(self, data: Any, text: str) -> None:
        self.data(data)
        self.say(text)


def warn(text: str) -> None:
    print(f"{PROG}: {text}", file=sys.stderr, flush=True)


# -- signing in ---------------------------------------------------------------------------


def read_pin(role: str) -> str:
    pin = os.environ.get("LOCKER_PIN")
    if pin:
        return pin
    if not is_terminal():
        raise CtlError(
            f"this command needs a {role} PIN: set LOCKER_PIN or run it from a terminal",
            EXIT_USAGE,
        )
    pin = getpass.getpass(f"{role.capitalize()} PIN: ")
    if not pin:
        raise CtlError("no PIN entered", EXIT_USAGE)
    return pin


def sign_out_quietly(client: ApiClient) -> None:
    """End the session; a daemon that went away must not hide the error that matters."""
    with contextlib.suppress(ApiError, DaemonUnreachable):
        client.sign_out()


# -- waiting for doors and jobs -----------------------------------------------------------


def wait_for_door(client: ApiClient, view: dict[str, Any], out: Out) -> dict[str, Any]:
    """Poll the operation until it is no longer live; say what changes. Returns the last view."""
    shown = view.get("message")
    door = view.get("compartment", "?")
    started = time.monotonic()
    final = view
    for final in client.watch_operation(view["operation"], poll=POLL_S):
        message = final.get("message")
        if message and message != shown:
            out.say(message)
            shown = message
        elif final.get("live"):
            waited = fmt.duration(time.monotonic() - started)
            if final.get("status") in DOOR_OPEN_STATUSES:
                out.say(f"Door {door} is still open after {waited}: close it to finish.")
            else:
                out.say(f"Still waiting for door {door} ({final.get('status')}, {waited}).")
    return final


def door_operation(
    client: ApiClient, view: dict[str, Any], args: argparse.Namespace, out: Out
) -> int:
    """Show an operation's message, wait for the door to close (unless --no-wait), report."""
    out.say(view.get("message") or f"Door {view.get('compartment')}: {view.get('status')}")
    final = view
    if view.get("live") and not getattr(args, "no_wait", False):
        final = wait_for_door(client, view, out)
    out.data(final)
    if final.get("live") or final.get("status") == "CLOSED":
        return EXIT_OK
    return EXIT_FAILED


def follow_job(client: ApiClient, job: dict[str, Any], out: Out) -> dict[str, Any]:
    """Print a progress line per result (``[3/16] A03 ok``) until the job is done."""
    printed = 0

    def show_new(view: dict[str, Any]) -> None:
        nonlocal printed
        results = view.get("results") or []
        total = view.get("total") or len(results)
        for result in results[printed:]:
            printed += 1
            out.say(fmt.job_result_line(printed, total, result))

    show_new(job)
    final = job
    if job.get("state") != "done":
        for final in client.watch_job(job["id"], poll=POLL_S):
            show_new(final)
    return final


# -- commands -----------------------------------------------------------------------------


def cmd_status(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    status = client.get("/v1/status")
    out.show(status, fmt.status_text(status))
    return EXIT_OK


def cmd_compartments(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    answer = client.get("/v1/compartments")
    out.show(answer, fmt.compartments_table(answer.get("compartments", [])))
    return EXIT_OK


def cmd_parcels(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    answer = client.get("/v1/parcels", state=args.state)
    parcels = answer.get("parcels", [])
    out.show(answer, fmt.parcels_table(parcels) if parcels else "No parcels.")
    return EXIT_OK


def cmd_events(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    if args.verify:
        return verify_events(client, out)
    answer = client.get("/v1/events", limit=args.limit, newest_first=True)
    events = list(reversed(answer.get("events", [])))
    if args.follow:
        for event in events:
            out.data(event, compact=True)
        out.say(fmt.event_line(fmt.EVENT_HEADERS))
        for event in events:
            out.say(fmt.event_line(fmt.event_row(event)))
        return follow_events(client, out, max((e.get("seq", 0) for e in events), default=0))
    out.show(answer, fmt.events_table(events) if events else "No events.")
    return EXIT_OK


def verify_events(client: ApiClient, out: Out) -> int:
    answer = client.get("/v1/events/verify")
    if answer.get("ok"):
        out.show(answer, f"event log intact: {answer.get('rows', 0)} events")
        return EXIT_OK
    reason = answer.get("reason") or "no reason given"
    out.show(answer, f"event log BROKEN at event {answer.get('first_bad_seq')}: {reason}")
    return EXIT_FAILED


def follow_events(client: ApiClient, out: Out, last_seq: int) -> int:
    """Print events from the stream until Ctrl-C (exit 0) or the daemon closes it (exit 3)."""
    try:
        for message in client.stream(f"/v1/stream?after={last_seq}"):
            if message.get("type") != "event" or message.get("seq", 0) <= last_seq:
                continue
            last_seq = message.get("seq", last_seq)
            out.data(message, compact=True)
            out.say(fmt.event_line(fmt.event_row(message)))
    except KeyboardInterrupt:
        return EXIT_OK
    raise CtlError("the daemon closed the event stream (restarting?)", EXIT_UNREACHABLE)


def cmd_announce(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    body = {"barcode": args.barcode, "size": args.size, "phone": args.phone, "email": args.email}
    parcel = client.post("/v1/announcements", drop_none(body))
    recipient = parcel.get("phone") or parcel.get("email") or "no recipient"
    out.show(
        parcel,
        f"Announced {parcel.get('barcode', args.barcode)} (size {parcel.get('size', args.size)}, "
        f"{recipient}): {parcel.get('state', 'ANNOUNCED')}.",
    )
    return EXIT_OK


def cmd_deposit(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    body = drop_none(
        {"barcode": args.barcode, "size": args.size, "phone": args.phone, "email": args.email}
    )
    if args.accessible:
        body["accessible"] = True
    return door_operation(client, client.post("/v1/deposits", body), args, out)


def cmd_pickup(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    return door_operation(client, client.post("/v1/pickup", {"code": args.code}), args, out)


def cmd_open(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    view = client.post(f"/v1/compartments/{args.compartment}/open")
    out.show(view, view.get("message") or f"Door {args.compartment}: {view.get('status')}")
    return EXIT_FAILED if view.get("status") in {"OPEN_NOT_DETECTED", "ABANDONED"} else EXIT_OK


def confirm_open_all(args: argparse.Namespace) -> None:
    if args.yes or args.json:
        return
    if not is_terminal():
        raise CtlError("open-all opens every door: add --yes to confirm", EXIT_USAGE)
    print("This opens EVERY door of the kiosk, one after the other.", file=sys.stderr)
    print("Type yes to continue: ", end="", file=sys.stderr, flush=True)
    if sys.stdin.readline().strip().lower() not in {"yes", "y"}:
        raise CtlError("nothing opened", EXIT_FAILED)


def cmd_open_all(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    job = follow_job(client, client.post("/v1/compartments/open-all"), out)
    text, ok = fmt.job_summary(job, "Open all")
    out.show(job, text)
    return EXIT_OK if ok else EXIT_FAILED


def cmd_selftest(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    body = {"take_out_of_service": args.take_out_of_service}
    job = follow_job(client, client.post("/v1/selftest", body), out)
    text, ok = fmt.job_summary(job, "Self-test")
    out.show(job, f"{text}. {'PASS' if ok else 'FAIL'}")
    return EXIT_OK if ok else EXIT_FAILED


def cmd_out_of_service(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    body = {"reason": args.reason}
    view = client.post(f"/v1/compartments/{args.compartment}/out-of-service", body)
    out.show(view, f"{view.get('id', args.compartment)} is now {view.get('state')}: {args.reason}")
    return EXIT_OK


def cmd_in_service(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    view = client.post(f"/v1/compartments/{args.compartment}/in-service")
    out.show(view, f"{view.get('id', args.compartment)} is now {view.get('state')}.")
    return EXIT_OK


def cmd_extend(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    parcel = client.extend_hold(args.barcode, args.hours)
    out.show(parcel, f"{parcel.get('barcode', args.barcode)} may be picked up until "
             f"{fmt.local_time(parcel.get('expires_at'))} (extended by "
             f"{parcel.get('extended_hours', args.hours):g} h in all).")  # fmt: skip
    return EXIT_OK


def cmd_guard_reset(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    view = client.post("/v1/guard/reset")
    out.show(view, "Doors open again: the mass-open guard is reset.")
    return EXIT_OK


def cmd_returns(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    """Open each expired parcel's door in turn until the daemon says there are no more."""
    done: list[dict[str, Any]] = []
    try:
        end = collect_returns(client, out, done)
    finally:
        out.data(done)
    text, ok = fmt.returns_summary(done, end)
    out.say(text)
    return EXIT_OK if ok else EXIT_FAILED


def collect_returns(client: ApiClient, out: Out, done: list[dict[str, Any]]) -> str:
    """Fill ``done`` with one merged view per parcel; return the daemon's closing message."""
    seen: set[str] = set()
    while True:
        try:
            view = client.post("/v1/returns/next")
        except ApiError as exc:
            if exc.status == 404:
                return exc.message
            raise
        barcode = str(view.get("barcode"))
        if barcode in seen:
            raise CtlError(f"parcel {barcode} was offered again; stopping (see lockerctl status)")
        seen.add(barcode)
        out.say(view.get("message") or f"Door {view.get('compartment')}: take out {barcode}")
        final = wait_for_door(client, view, out) if view.get("live") else view
        record = {**view, **final}
        done.append(record)
        ok = record.get("status") == "CLOSED"
        line = f"[{'x' if ok else '!'}] {barcode} from {record.get('compartment')}"
        out.say(line if ok else f"{line}: {record.get('message') or record.get('status')}")


def drop_none(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


# -- the parser ---------------------------------------------------------------------------

DESCRIPTION = """\
Talk to the parcel-locker kiosk daemon on this machine: read its state, open doors, run the
hardware self-test, deposit and pick up parcels. Every command takes --json for scripts."""

EPILOG = f"""\
examples:
  lockerctl status
  lockerctl compartments --json | jq '.compartments[] | select(.state == "OUT_OF_SERVICE")'
  lockerctl events --follow
  LOCKER_PIN=... lockerctl deposit 1Z999AA10123456784 --size M --phone +4915112345678
  lockerctl selftest --take-out-of-service
{ctl_tools.EPILOG}
environment:
  LOCKER_SOCKET  the daemon's socket (default /run/locker-kiosk/api.sock)
  LOCKER_PIN     PIN for commands that sign in (otherwise asked for on the terminal)
  LOCKER_USER    user name for signing in

exit codes: 0 ok, 1 refused or failed, 2 usage, 3 daemon unreachable, 4 throttled,
130 interrupted"""

COURIER, TECHNICIAN = "courier", "technician"


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
    ("pickup", cmd_pickup, None, "Pick up a parcel with its code.", "pickup 12345678"),
    ("open", cmd_open, TECHNICIAN, "Open one door.", "open A07"),
    ("open-all", cmd_open_all, TECHNICIAN, "Open every door, one after the other.",
     "open-all --yes"),
    ("selftest", cmd_selftest, TECHNICIAN, "Fire every lock, read every sensor; exit 1 on a fault.",
     "selftest --take-out-of-service"),
    ("out-of-service", cmd_out_of_service, TECHNICIAN, "Stop handing out a compartment.",
     'out-of-service A07 --reason "hinge broken"'),
    ("in-service", cmd_in_service, TECHNICIAN, "Put a compartment back in service.",
     "in-service A07"),
    ("extend", cmd_extend, TECHNICIAN,
     "Give the recipient more time: move a parcel's pickup deadline later.",
     "extend 1Z999AA10123456784 --hours 24"),
    ("returns", cmd_returns, COURIER, "Collect expired parcels, one door at a time.", "returns"),
    ("guard-reset", cmd_guard_reset, TECHNICIAN,
     "Let doors open again after the mass-open guard stopped them.", "guard-reset"),
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
    p["pickup"].add_argument("code", help="the pickup code the recipient was sent")
    for name in ("deposit", "pickup"):
        p[name].add_argument("--no-wait", action="store_true", help="do not wait for the door")
    for name in ("open", "out-of-service", "in-service"):
        p[name].add_argument("compartment", type=str.upper, help="e.g. A07")
    p["out-of-service"].add_argument("--reason", required=True, metavar="TEXT", help="why")
    p["extend"].add_argument("barcode", help="the parcel's tracking barcode")
    more = "how many hours more (policy.max_extend_hours in all)"
    p["extend"].add_argument("--hours", required=True, type=hours, metavar="N", help=more)
    p["open-all"].add_argument("--yes", "-y", action="store_true", help="do not ask first")
    p["selftest"].add_argument(
        "--take-out-of-service", action="store_true", help="take failing compartments out"
    )
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
                user = args.user or os.environ.get("LOCKER_USER") or None
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


if __name__ == "__main__":
    sys.exit(main())
