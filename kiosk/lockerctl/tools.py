"""``lockerctl scan-bus``, ``lockerctl trace`` and ``lockerctl discover``: the
technician's board tools.

Registered into :data:`kiosk.lockerctl.COMMANDS` (this module's :data:`COMMANDS`) and its
parser (:func:`add_arguments`); like every command, a client of the daemon's API and
nothing else. The daemon side is :mod:`kiosk.technician.board_tools`.

``scan-bus [BOARD...]`` asks every bus (or those of the boards named) for every kind of
board, with a line per bus and kind as it goes, and exits 1 when a board the config
puts on a bus does not answer. ``trace BOARD on|off`` switches the wire trace for one
board; ``trace`` alone shows where it stands.
``discover`` exits 1 when a channel showed a problem (a configured lock that opened
nothing, a lock that opened another channel's door, a fire that failed); it prints the
proposed ``[[compartments]]`` tables after the progress, or writes them to ``--output``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.lockerctl import io as ctl_io
from kiosk.protocol.client import ApiClient
from kiosk.protocol.views import TraceView

if TYPE_CHECKING:
    from kiosk.lockerctl.io import Out

__all__ = ["COMMANDS", "EPILOG", "add_arguments", "proposal_toml", "scan_summary"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
TECHNICIAN = "technician"
SIZE_PLACEHOLDER = "?"


# -- scan-bus -----------------------------------------------------------------------------


def cmd_scan_bus(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    body = {"boards": args.board} if args.board else {}
    job = ctl_io.follow_job(client, client.start_job("/v1/bus-scan", body), out, scan_line)
    results = job.get("results") or []
    out.data(job)
    out.say(scan_summary(results))
    return EXIT_OK if all(r.get("ok") for r in results) else EXIT_FAILED


def scan_line(index: int, total: int, result: dict[str, Any]) -> str:
    """``[1/2] /dev/ttyUSB0 (kerong, 19200 baud), Kerong CU16 at 0-15: 2 answering``."""
    width = len(str(total))
    where = f"{result.get('port')} ({result.get('protocol')}, {result.get('baud')} baud)"
    head = f"[{index:>{width}}/{total}] {where}, {result.get('kind')} at {result.get('asked')}:"
    problem = "" if result.get("ok") else " PROBLEM:"
    return f"{head}{problem} {result.get('detail')}"


def scan_summary(results: Sequence[dict[str, Any]]) -> str:
    """Per bus, each address that answered with the kinds and the configured board it
    is; then the configured boards that answered to no kind."""
    buses: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        buses.setdefault(str(result.get("port")), []).append(result)
    s = "" if len(buses) == 1 else "es"
    lines = [f"Scanned {len(buses)} bus{s}:"]
    missing: list[str] = []
    for port, steps in buses.items():
        first = steps[0]
        names = ", ".join(repr(b) for b in first.get("boards") or [])
        lines.append(f"  {port} ({first.get('protocol')}, {first.get('baud')} baud; {names}):")
        found: dict[int, dict[str, Any]] = {}
        for step in steps:
            for entry in step.get("addresses") or []:
                seen = found.setdefault(int(entry["address"]), {**entry, "kinds": []})
                seen["kinds"] += entry.get("kinds") or []
            missing += [f"  address {m.get('address')} on {port}: {_member(m)}"
                        for m in step.get("missing") or []]  # fmt: skip
        if not found:
            lines.append("    no address answers")
        for address, entry in sorted(found.items()):
            lines.append(f"    address {address}: {', '.join(entry['kinds'])}, {_member(entry)}")
    if missing:
        lines += ["Not answering:", *missing]
    return "\n".join(lines)


def _member(entry: dict[str, Any]) -> str:
    if not entry.get("board"):
        return "not in the config"
    if entry.get("role") == "door inputs":
        return f"door inputs of board {entry['board']!r}"
    return f"board {entry['board']!r}"


# -- trace --------------------------------------------------------------------------------


def cmd_trace(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    if args.board and not args.state:
        raise ctl_io.CtlError("say on or off: lockerctl trace BOARD on|off", EXIT_USAGE)
    if not args.board:
        view = client.trace_view()
        out.show(view, trace_text(view))
        return EXIT_OK
    view = client.set_trace(args.board, args.state == "on")
    out.show(view, trace_text(view, args.board, args.state == "on"))
    return EXIT_OK


def trace_text(view: TraceView, board: str | None = None, on: bool = False) -> str:
    """What the trace does now, where it writes, how large it may grow."""
    traced = [str(b) for b in view.get("boards") or []]
    kib = int(view.get("max_bytes") or 0) // 1024
    keep = int(view.get("keep") or 0)
    older = f"{keep} older file{'' if keep == 1 else 's'}"
    bound = f"{view.get('file')} (at most {kib} KiB, {older} kept; mode 0600)"
    if board is not None and on:
        return (f"Wire trace on for board {board!r}: {bound}.\n"
                f"Switch it off when done: lockerctl trace {board} off")  # fmt: skip
    if board is not None:
        now = f"; still on for {', '.join(map(repr, traced))}" if traced else ""
        return f"Wire trace off for board {board!r}{now}. The file stays: {view.get('file')}"
    if not traced:
        lines = [f"Wire trace: off for every board. File: {bound}."]
    else:
        lines = [f"Wire trace: on for {', '.join(map(repr, traced))}. File: {bound}."]
    if view.get("error"):
        lines.append(f"Last error: {view['error']}")
    return "\n".join(lines)


# -- discover -----------------------------------------------------------------------------


def cmd_discover(client: ApiClient, args: argparse.Namespace, out: Out) -> int:
    body = {"boards": args.board} if args.board else {}
    job = ctl_io.follow_job(client, client.start_job("/v1/discover", body), out, progress_line)
    results = job.get("results") or []
    info = client.kiosk_info()
    sizes = [str(s.get("name")) for s in info.get("sizes") or [] if s.get("name")]
    proposal = proposal_toml(results, str(info.get("id", "?")), sizes)
    text, ok = discovery_summary(results)
    out.data(job)
    out.say(text)
    if args.output:
        args.output.write_text(proposal, encoding="utf-8")
        out.say(f"Proposed compartment map written to {args.output}.")
    else:
        out.say("")
        out.say(proposal.rstrip("\n"))
    return EXIT_OK if ok else EXIT_FAILED


def confirm_discover(args: argparse.Namespace) -> None:
    """Ask before any door pops (``lockerctl`` calls this before it signs in)."""
    if args.yes or args.json:
        return
    if not ctl_io.is_terminal():
        raise ctl_io.CtlError("discover fires every lock channel: add --yes to confirm", EXIT_USAGE)
    print("This fires EVERY lock channel, one after the other: doors pop open.", file=sys.stderr)
    print("Close each door after it opened. Type yes to continue: ", end="", file=sys.stderr)
    sys.stderr.flush()
    if sys.stdin.readline().strip().lower() not in {"yes", "y"}:
        raise ctl_io.CtlError("nothing fired", EXIT_FAILED)


def progress_line(index: int, total: int, result: dict[str, Any]) -> str:
    width = len(str(total))
    head = f"[{index:>{width}}/{total}] {result.get('board')} lock {result.get('lock')}:"
    problem = "" if result.get("ok") else " PROBLEM:"
    return f"{head}{problem} {result.get('detail') or result.get('outcome')}"


def discovery_summary(results: Sequence[dict[str, Any]]) -> tuple[str, bool]:
    """``Discover: 16 channels tried; 3 doors found (2 not in the config); nothing seen on
    12; 1 problem: top lock 9`` and whether there was no problem."""
    doors = [r for r in results if r.get("outcome") == "door"]
    new = [r for r in doors if not r.get("configured")]
    nothing = [r for r in results if r.get("outcome") == "nothing" and r.get("ok")]
    problems = [f"{r.get('board')} lock {r.get('lock')}" for r in results if not r.get("ok")]
    text = (
        f"Discover: {len(results)} channels tried; {len(doors)} doors found "
        f"({len(new)} not in the config); nothing seen on {len(nothing)}"
    )
    if problems:
        s = "" if len(problems) == 1 else "s"
        text += f"; {len(problems)} problem{s}: {', '.join(problems)}"
    return text + ".", not problems


def proposal_toml(results: Sequence[dict[str, Any]], kiosk_id: str, sizes: Sequence[str]) -> str:
    """The compartment map the results show, as ``[[compartments]]`` tables.

    A channel whose own door opened becomes a table: configured compartments keep their
    id and size, new ones get their placeholder id (``NEW01``...) and size ``"?"``, which
    the config loader refuses until a person sets it. Every other channel is listed in
    a comment at the end.
    """
    choices = ", ".join(sizes) or "a size of [[sizes]]"
    lines = [
        f"# Compartment map proposed by `lockerctl discover` for kiosk {kiosk_id}.",
        "# One table per lock channel whose own door opened when it was fired. Name the",
        "# new compartments (NEW.. are placeholders) and set their size, then use these",
        "# tables as the [[compartments]] of the kiosk's config.",
    ]
    for r in results:
        if r.get("outcome") != "door":
            continue
        new = not r.get("configured")
        lines += ["", "[[compartments]]", f"id = {_str(r.get('compartment'))}"]
        if new:
            lines[-1] += "  # new: not in the config yet"
        size = r.get("size") or SIZE_PLACEHOLDER
        lines.append(f"size = {_str(size)}" + (f"  # set one of: {choices}" if new else ""))
        lines += [f"board = {_str(r.get('board'))}", f"lock = {int(r.get('lock') or 0)}"]
        if r.get("accessible"):
            lines.append("accessible = true")
    lines += _left_out(results)
    return "\n".join(lines) + "\n"


def _left_out(results: Sequence[dict[str, Any]]) -> list[str]:
    problems = [r for r in results if r.get("outcome") != "door" and not r.get("ok")]
    problems += [r for r in results if r.get("outcome") == "door" and not r.get("ok")]
    quiet = [r for r in results if r.get("outcome") == "nothing" and r.get("ok")]
    lines: list[str] = []
    if problems:
        lines += ["", "# Not proposed, to check:"]
        lines += [f"#   {r.get('board')} lock {r.get('lock')}: {r.get('detail')}" for r in problems]
    by_board: dict[str, list[str]] = {}
    for r in quiet:
        by_board.setdefault(str(r.get("board")), []).append(str(r.get("lock")))
    if by_board:
        lines += ["", "# Nothing seen (no door behind the channel, or a jammed lock):"]
        lines += [f"#   {board} locks {', '.join(locks)}" for board, locks in by_board.items()]
    return lines


def _str(value: Any) -> str:
    return json.dumps(str(value))


# -- registration -------------------------------------------------------------------------

EPILOG = """\
  lockerctl scan-bus
  lockerctl trace top on
  lockerctl discover --yes --output compartments.toml

board tools (technician):
  scan-bus [BOARD...]
                  ask every address of every bus (or BOARD's bus) for every kind of board
                  (Kerong CU16 0-15, Modbus relay board 1-32) and show which configured
                  board answers where; exit 1 if one of them is silent
  trace BOARD on|off
                  write every frame BOARD sends and receives to the trace file (the data
                  dir's wire-trace.log, bounded); trace alone: where it stands
  discover        fire each lock channel of every board (or --board NAME), one at a time,
                  configured or not; close each door after it pops open. Shows what each
                  channel opened and prints the proposed [[compartments]] tables (new ones
                  named NEW01... with size "?" to fill in); exit 1 if a channel showed a
                  problem. Refused while a door operation is in progress.
"""

Handler = Callable[[ApiClient, argparse.Namespace, "Out"], int]

COMMANDS: list[tuple[str, Handler, str | None, str, str]] = [
    ("scan-bus", cmd_scan_bus, TECHNICIAN,
     "Ask every bus for every kind of board (Kerong, Modbus): who answers where.",
     "scan-bus top"),
    ("trace", cmd_trace, TECHNICIAN,
     "Trace every frame one board sends and receives, to a bounded file.", "trace top on"),
    ("discover", cmd_discover, TECHNICIAN,
     "Fire each lock channel in turn, watch the door sensors, propose the compartment map.",
     "discover --yes --output compartments.toml"),
]  # fmt: skip


def add_arguments(p: dict[str, argparse.ArgumentParser]) -> None:
    p["scan-bus"].add_argument(
        "board", nargs="*", help="boards of the config whose buses to scan (default: every bus)"
    )
    p["trace"].add_argument("board", nargs="?", help="a Kerong or Modbus board of the config")
    p["trace"].add_argument("state", nargs="?", choices=("on", "off"), help="on or off")
    discover = p["discover"]
    only = "only this board (repeat for more; default: every board)"
    discover.add_argument("--board", action="append", metavar="NAME", help=only)
    discover.add_argument("--yes", "-y", action="store_true", help="do not ask first")
    to_file = "write the proposed [[compartments]] tables to FILE"
    discover.add_argument("--output", "-o", type=Path, metavar="FILE", help=to_file)
