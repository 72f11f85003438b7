"""``locker-kiosk``: run the daemon, the demo, manage users, switch every lock off."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from kiosk import __version__
from kiosk.config import ConfigError, load_config
from kiosk.daemon import logrepeat
from kiosk.errors import LockerError, NeedsAPerson

EPILOG = """\
examples:
  locker-kiosk demo                                  the whole product on a simulator
  locker-kiosk run --config /etc/locker-kiosk/kiosk.toml
  locker-kiosk ui --fullscreen                       the touchscreen
  locker-kiosk users --config kiosk.toml add anna --role courier
  locker-kiosk safe-off --config kiosk.toml          every lock output off, no daemon
  locker-kiosk backup --config kiosk.toml /mnt/usb/kiosk-2026-12-02
  locker-kiosk modbus-board read --port /dev/ttyUSB0   a board's address and baud (bench)
  locker-kiosk scan-port --port /dev/ttyUSB0 --protocol modbus --all-bauds
  locker-kiosk reinit --config kiosk.toml --void-pickup-codes   only when start says so
  locker-kiosk config-schema > kiosk.schema.json     for an editor to check kiosk.toml
"""


def build_parser() -> argparse.ArgumentParser:
    from kiosk.commands import bench as bench_cli
    from kiosk.commands import users as users_cli

    parser = argparse.ArgumentParser(
        prog="locker-kiosk",
        description="Controller for a bank of parcel lockers: door locks, door sensors, "
        "pickup codes and courier deposits.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"locker-kiosk {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="run the daemon", description="Run the kiosk daemon.")
    run.add_argument("--config", required=True, help="the kiosk's TOML config")
    run.add_argument("--data-dir", help="use this data dir instead of the config's")
    run.add_argument("--ready-file", help=argparse.SUPPRESS)
    demo = sub.add_parser(
        "demo",
        help="the whole product on a simulator, with a throwaway data dir",
        description="Start the simulator and the daemon with config/demo.toml on a throwaway "
        "data dir, store a few parcels, print their pickup codes and a guide. Ctrl-C ends it.",
    )
    demo.add_argument("--config", help="demo config (default: config/demo.toml)")
    demo.add_argument("--keep", action="store_true", help="keep the data dir at the end")
    check = sub.add_parser("check-config", help="validate a config and exit")
    check.add_argument("--config", required=True)
    schema = sub.add_parser(
        "config-schema",
        help="print the config file's JSON Schema (for an editor), or the full example",
        description="Print the JSON Schema of a config file: every key with its type, "
        "default, range and description, for an editor to complete and check kiosk.toml "
        "with (docs/operations.md). --example prints config/example-full.toml instead.",
    )
    schema.add_argument(
        "--example", action="store_true", help="every key at its default, as commented TOML"
    )
    off = sub.add_parser(
        "safe-off",
        help="switch every lock output of every board off, without the daemon",
        description="Open every board of the config and switch every lock output off. "
        "systemd runs this after the daemon stops, whatever the reason.",
    )
    off.add_argument("--config", required=True)
    back = sub.add_parser(
        "backup",
        help="copy the database and key into a new directory, while the kiosk runs",
        description="Make a consistent copy of the data dir (database and kiosk key) in a "
        "new directory, beside the running daemon. docs/operations.md says how to restore.",
    )
    back.add_argument("--config", required=True, help="the kiosk's TOML config")
    back.add_argument("--data-dir", help="use this data dir instead of the config's")
    back.add_argument("dest", help="a new or empty directory for the copy")
    _add_reinit(sub)
    users_cli.add_parser(sub)
    from kiosk.ui import main as ui_main

    ui_main.add_parser(sub)
    sim = sub.add_parser(
        "sim",
        help="emulate the config's Kerong and Modbus boards on pseudo-terminals",
        description="Start emulated lock control boards for every Kerong bus and Modbus "
        "board of the config, each on a pseudo-terminal linked at the board's port (a "
        "relative port lives in the data dir), with a simulated bank behind them.",
    )
    sim.add_argument("--config", required=True, help="the kiosk's TOML config")
    sim.add_argument("--data-dir", help="use this data dir instead of the config's")
    sim.add_argument(
        "--person",
        choices=("auto", "manual"),
        default="auto",
        help="auto: a simulated person uses every door that pops open",
    )
    sim.add_argument(
        "--close-delay",
        type=float,
        default=2.0,
        metavar="S",
        help="how long the simulated person keeps a door open (default 2 s)",
    )
    sim.add_argument(
        "--pace",
        action="store_true",
        help="deliver bytes at the wire speed of each board's baud rate",
    )
    sim.add_argument(
        "--all-channels",
        action="store_true",
        help="a door behind every channel of each board (16 per CU16, 48 per CU48, a Modbus "
        "board's channels), also those the config leaves out, for lockerctl discover",
    )
    sim.add_argument(
        "--unlock-reply",
        choices=("yes", "no"),
        help="whether emulated Kerong boards answer an unlock (default: [sim] unlock_reply "
        "of the config, yes unless it says otherwise); real boards may not",
    )
    win = sub.add_parser(
        "sim-window",
        help="a window onto the simulated locker bank (doors, locks, parcels, faults)",
        description="Show the simulator's doors and let you open, close, jam or force them.",
    )
    win.add_argument("--control", required=True, help="the simulator's control socket "
                     "(sim.sock in the data dir)")  # fmt: skip
    bench_cli.add_parsers(sub)
    return parser


def _add_reinit(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    reinit = sub.add_parser(
        "reinit",
        help="start again where a backup cannot help, when the daemon refused to start",
        description="When the daemon refuses to start because its database or its key is "
        'lost (and no backup has it: docs/operations.md, "Restore"), start again, giving '
        "up only what the option says. The daemon must be stopped; nothing is deleted, "
        "what is replaced is moved into set-aside-<time>/ in the data dir.",
    )
    reinit.add_argument("--config", required=True, help="the kiosk's TOML config")
    reinit.add_argument("--data-dir", help="use this data dir instead of the config's")
    what = reinit.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--forget-stored-parcels",
        dest="option",
        action="store_const",
        const="--forget-stored-parcels",
        help="the database is lost, damaged or another kiosk's: make a new, empty one in "
        "which every compartment waits for a technician's check",
    )
    what.add_argument(
        "--void-pickup-codes",
        dest="option",
        action="store_const",
        const="--void-pickup-codes",
        help="the key is lost or is not the database's: make a new one, send every stored "
        "parcel's recipient a new code, remove every badge",
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Warnings and errors that repeat are written once with a count (kiosk/daemon/logrepeat.py).
    logrepeat.install(
        logging.StreamHandler(sys.stderr),
        level=logging.DEBUG if args.verbose else logging.INFO,
        fmt="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        return _dispatch(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"locker-kiosk: {problem}", file=sys.stderr)
        return 2
    except NeedsAPerson as exc:
        print(f"locker-kiosk: {exc}", file=sys.stderr)
        return 2  # as for a bad config: the unit's RestartPreventExitStatus
    except LockerError as exc:
        print(f"locker-kiosk: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "demo":
        from kiosk.commands.demo import run_demo

        return run_demo(Path(args.config) if args.config else None, keep=args.keep)
    if args.command == "sim-window":
        from hw_sim.window import run_window

        return run_window(args.control)
    if args.command == "ui":
        from kiosk.ui import main as ui_main

        return ui_main.run(args)
    if args.command == "config-schema":
        return _config_schema(example=args.example)
    if args.command in ("modbus-board", "scan-port"):
        from kiosk.commands import bench as bench_cli

        return bench_cli.run(args)
    if not getattr(args, "config", None):
        raise LockerError(f"{args.command}: --config FILE is required (the kiosk's TOML config)")
    config = load_config(args.config)
    if args.command == "check-config":
        print(f"{args.config}: OK ({len(config.compartments)} compartments, "
              f"{len(config.boards)} boards)")  # fmt: skip
        return 0
    if args.command == "safe-off":
        from drivers.base import create_driver
        from drivers.safety import safe_off

        for line in safe_off([create_driver(s) for s in config.board_specs()]):
            print(line)
        return 0
    if getattr(args, "data_dir", None):
        config = config.with_data_dir(Path(args.data_dir))
    if args.command == "backup":
        from kiosk.commands.backup import backup

        made = backup(config, Path(args.dest))
        print(f"backed up kiosk {made['kiosk']} to {args.dest}: {made['parcels']} parcels, "
              f"{made['events']} events, schema {made['schema_version']}, "
              f"integrity {made['integrity']}")  # fmt: skip
        return 0
    if args.command == "reinit":
        from kiosk.commands.reinit import reinit

        for line in reinit(config, args.option):
            print(line)
        return 0
    if args.command == "sim":
        from kiosk.commands.sim import run_simulator

        return run_simulator(
            config, args.person, args.close_delay, args.pace, all_channels=args.all_channels,
            unlock_reply=None if args.unlock_reply is None else args.unlock_reply == "yes",
        )  # fmt: skip
    if args.command == "users":
        from kiosk.commands import users as users_cli

        return users_cli.run(args, config)
    from kiosk.daemon import run

    return run(config, Path(args.ready_file) if args.ready_file else None)


def _config_schema(*, example: bool) -> int:
    if example:
        from kiosk.config.example import example_toml

        sys.stdout.write(example_toml())
        return 0
    import json

    from kiosk.config.fileschema import file_schema

    print(json.dumps(file_schema(), indent=2, ensure_ascii=False))
    return 0
