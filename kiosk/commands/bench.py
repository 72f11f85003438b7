"""``locker-kiosk modbus-board`` and ``locker-kiosk scan-port``: the bench tools that work
on a serial port directly, for a technician with a laptop and the daemon stopped.

Why on the port and not through the daemon (``lockerctl``): giving a new Modbus board
its address or baud happens before the board joins a bus, usually before any config
names it, and a board whose baud changes drops off the daemon's bus until the config
follows; and a scan across bauds would stop every board of the bus for its length. The
daemon holds its ports exclusively, so these refuse to run beside it (stop it with
``sudo systemctl stop locker-kiosk``); ``lockerctl scan-bus`` scans beside a running
daemon, at each bus's own baud.

Every frame goes through the same shared port and probes as the daemon's
(:mod:`drivers.modbus.settings`, :mod:`drivers.bus_scan`). Exit codes: 0 done, 1 a
board did not answer or refused, 2 wrong usage. ``--json`` prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from drivers.bus_scan import Probed, board_kinds, scan
from drivers.errors import DriverError
from drivers.modbus.frames import BAUD_CODES
from drivers.modbus.settings import (
    BROADCAST,
    BoardSettings,
    bench_bus,
    read_settings,
    set_address,
    set_baud,
)

__all__ = ["COMMANDS", "add_parsers", "run"]

COMMANDS = ("modbus-board", "scan-port")
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
FACTORY_ADDRESS, FACTORY_BAUD = 1, 9600
TIMEOUT_S = 0.3
FACTORY_BAUDS = {"kerong": 19200, "kerong-cu48": 19200, "modbus": 9600}
SCAN_BAUDS = {"kerong": (19200, 9600), "kerong-cu48": (19200, 9600), "modbus": BAUD_CODES[:6]}
"""What ``scan-port --all-bauds`` tries: Kerong's factory speed and the one seen in the
field (a CU48 taken to be as a CU16 [?]); the Modbus relay boards' table up to 115200
(the two above it are not speeds a USB adapter can be counted on for)."""

MODBUS_EPILOG = """\
examples:
  locker-kiosk modbus-board read --port /dev/ttyUSB0
  locker-kiosk modbus-board read --port /dev/ttyUSB0 --only-board   (address unknown)
  locker-kiosk modbus-board set-address 2 --port /dev/ttyUSB0       (factory board: at 1)
  locker-kiosk modbus-board set-baud 19200 --port /dev/ttyUSB0 --address 2

Every board leaves the factory at address 1, 9600 baud 8N1: connect one new board at a
time. An address takes effect at once. A new baud may need the board switched off and
on (the tool says which it found). Every board on one bus needs the same baud: set the
config's baud of each. Stop the daemon first: it holds the port.
"""

SCAN_EPILOG = """\
examples:
  locker-kiosk scan-port --port /dev/ttyUSB0 --protocol modbus
  locker-kiosk scan-port --port /dev/ttyUSB0 --protocol modbus --all-bauds
  locker-kiosk scan-port --port /dev/ttyUSB0 --protocol kerong --baud 9600
  locker-kiosk scan-port --port /dev/ttyUSB1 --protocol kerong-cu48

Asks every address of every kind of board the protocol has (Kerong CU16: 0-15; Kerong
CU48: 0-15; Modbus relay boards of 8, 16 or 32 channels and input boards: 1-32) and
prints each that answers. Stop the daemon first: it holds the port (beside a running
daemon, use lockerctl scan-bus).
"""


def add_parsers(sub: Any) -> None:
    """The two commands on ``locker-kiosk``'s sub-command parser ``sub``."""
    modbus = sub.add_parser(
        "modbus-board",
        help="read or set a Modbus relay board's address and baud (daemon stopped)",
        description="Read a Waveshare-style Modbus relay board's address, baud and firmware "
        "version from its registers (0x4000, 0x2000, 0x8000), or write a new address or "
        "baud, on a serial port directly.",
        epilog=MODBUS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = modbus.add_subparsers(dest="action", required=True, metavar="ACTION")
    read = actions.add_parser(
        "read",
        help="show the board's address, baud and version",
        description="Read the board's address (0x4000), UART settings (0x2000) and firmware "
        "version (0x8000).",
    )
    to_address = actions.add_parser(
        "set-address",
        help="give the board a new address",
        description="Write a new address to the board's register 0x4000 and read it back "
        "there. It takes effect at once.",
    )
    to_address.add_argument("new_address", type=int, metavar="NEW", help="1..247")
    to_baud = actions.add_parser(
        "set-baud",
        help="give the board a new baud (parity none)",
        description="Write a new baud (parity none) to the board's register 0x2000, then "
        "find the board at the new speed or, with the new value stored, at the old one: "
        "then it needs a power cycle.",
    )
    bauds = ", ".join(str(b) for b in BAUD_CODES)
    to_baud.add_argument("new_baud", type=int, metavar="BAUD", help=bauds)
    for action in (read, to_address, to_baud):
        _port_options(action, FACTORY_BAUD, TIMEOUT_S)
        who = action.add_mutually_exclusive_group()
        who.add_argument("--address", type=int, default=FACTORY_ADDRESS, metavar="N",
                         help="the board's address now (default 1, the factory's)")  # fmt: skip
        who.add_argument("--only-board", action="store_true",
                         help="ask at address 0, which the only board on the line answers "
                         "whatever its address (never with two boards connected)")  # fmt: skip
    port = sub.add_parser(
        "scan-port",
        help="find the boards on a serial port, every address and kind (daemon stopped)",
        description="Ask every address of every kind of board of a protocol on a serial "
        "port, at one baud or at each a board of that protocol may use.",
        epilog=SCAN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _port_options(port, None, None)
    port.add_argument("--protocol", required=True, choices=sorted(SCAN_BAUDS),
                      help="the boards' protocol")  # fmt: skip
    port.add_argument("--all-bauds", action="store_true",
                      help="try each baud a board of the protocol may use")  # fmt: skip


def _port_options(
    parser: argparse.ArgumentParser, baud: int | None, timeout_s: float | None
) -> None:
    parser.add_argument("--port", required=True, help="the serial port, e.g. /dev/ttyUSB0")
    default = f"default {baud}" if baud else "default: the protocol's factory baud"
    parser.add_argument("--baud", type=int, default=baud, help=f"the port's speed ({default})")
    given = f"default {timeout_s}" if timeout_s else "default: each kind's own, 0.05-0.1"
    wait = f"how long a board is given to answer, in seconds ({given})"
    parser.add_argument("--timeout", type=float, default=timeout_s, metavar="S", help=wait)
    parser.add_argument("--json", action="store_true", help="print one JSON object only")


def run(args: argparse.Namespace) -> int:
    """Run ``args.command``; errors are one line on stderr and a non-zero exit."""
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # its errors are told here
    try:
        if args.command == "scan-port":
            return _scan_port(args)
        return _modbus_board(args)
    except DriverError as exc:
        _fail(exc.reason)
        return EXIT_FAILED
    except _Usage as exc:
        _fail(str(exc))
        return EXIT_USAGE


class _Usage(Exception):
    """A request the tool will not try (it says why)."""


def _fail(text: str) -> None:
    print(f"locker-kiosk: {text}", file=sys.stderr, flush=True)


def _say(args: argparse.Namespace, text: str) -> None:
    if not args.json:
        print(text, flush=True)


def _data(args: argparse.Namespace, data: dict[str, Any]) -> None:
    if args.json:
        print(json.dumps(data, indent=2), flush=True)


# -- modbus-board -----------------------------------------------------------------------


def _modbus_board(args: argparse.Namespace) -> int:
    address = BROADCAST if args.only_board else args.address
    if not args.only_board and not 1 <= address <= 247:
        raise _Usage(f"--address must be 1..247 (or --only-board), not {address}")
    if args.action == "set-baud":
        return _set_baud(args, address)
    with bench_bus(args.port, args.baud, args.timeout) as bus:
        if args.action == "set-address":
            settings = set_address(bus, address, args.new_address, args.timeout)
        else:
            settings = read_settings(bus, address, args.timeout)
    where = _where(args, address)
    _data(args, {"port": args.port, "baud": args.baud, "asked_at": address, **asdict(settings)})
    if args.action == "set-address":
        _say(args, f"{where}: now at address {settings.address} (read back there).")
    else:
        _say(args, f"{where}:")
    _say(args, _settings_text(settings))
    return EXIT_OK


def _set_baud(args: argparse.Namespace, address: int) -> int:
    change = set_baud(args.port, args.baud, address, args.new_baud, args.timeout)
    settings = change.settings
    where = _where(args, address)
    asked = f"--address {settings.address}"
    _data(args, {"port": args.port, "baud": args.baud, "asked_at": address,
                 "in_effect": change.in_effect, **asdict(settings)})  # fmt: skip
    if change.in_effect:
        _say(args, f"{where}: now answers at {args.new_baud} baud (read back at that speed).")
    else:
        _say(args, f"{where}: baud {args.new_baud} stored (read back at {args.baud} baud); "
                   f"the board talks at {args.new_baud} after a power cycle. Switch it off "
                   "and on, then check with:")  # fmt: skip
        _say(args, f"  locker-kiosk modbus-board read --port {args.port} --baud "
                   f"{args.new_baud} {asked}")  # fmt: skip
    _say(args, _settings_text(settings))
    _say(args, f"Every board on one bus needs the same baud: set baud = {args.new_baud} for "
               "each board of this bus in the config.")  # fmt: skip
    return EXIT_OK


def _where(args: argparse.Namespace, address: int) -> str:
    who = "the only board" if address == BROADCAST else f"the board at address {address}"
    return f"Modbus relay board: {who} on {args.port} ({args.baud} baud)"


def _settings_text(settings: BoardSettings) -> str:
    baud = str(settings.baud) if settings.baud else f"unknown (code {settings.baud_code})"
    parity = {0: "none (8N1)"}.get(settings.parity, f"code {settings.parity}: not 8N1")
    lines = [
        f"  address   {settings.address}",
        f"  baud      {baud}",
        f"  parity    {parity}",
        f"  firmware  {settings.version or 'not stated'}",
    ]
    return "\n".join(lines)


# -- scan-port --------------------------------------------------------------------------


def _scan_port(args: argparse.Namespace) -> int:
    kinds = board_kinds(args.protocol)
    if args.all_bauds and args.baud:
        raise _Usage("give --baud or --all-bauds, not both")
    bauds: Sequence[int] = (
        SCAN_BAUDS[args.protocol] if args.all_bauds else [args.baud or FACTORY_BAUDS[args.protocol]]
    )
    found: list[dict[str, Any]] = []
    for baud in bauds:
        for kind in kinds:
            first, last = kind.addresses[0], kind.addresses[-1]
            _progress(args, f"{args.port} at {baud} baud: {kind.name} at {first}-{last} ...")

            def heard(probed: Probed, baud: int = baud) -> None:
                if probed.found:
                    _progress(args, f"  address {probed.address}: {probed.kind.name}")
                    at = {"baud": baud, "address": probed.address}
                    found.append({**at, "kind": probed.kind.name, "driver": probed.kind.driver})

            scan(args.port, kind, baud=baud, timeout_s=args.timeout, progress=heard)
    _data(args, {"port": args.port, "protocol": args.protocol, "bauds": list(bauds),
                 "found": found})  # fmt: skip
    _say(args, _found_text(args.port, bauds, found))
    return EXIT_OK if found else EXIT_FAILED


def _progress(args: argparse.Namespace, text: str) -> None:
    if not args.json:
        print(text, file=sys.stderr, flush=True)


def _found_text(port: str, bauds: Sequence[int], found: list[dict[str, Any]]) -> str:
    speeds = ", ".join(str(b) for b in bauds)
    if not found:
        return f"Nothing answered on {port} (at {speeds} baud)."
    lines = [f"Found on {port}:"]
    lines += [f"  {f['baud']} baud, address {f['address']}: {f['kind']} "
              f"(driver = \"{f['driver']}\")" for f in found]  # fmt: skip
    return "\n".join(lines)
