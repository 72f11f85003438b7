"""``locker-fleet``: the operator's side of the network of kiosks (docs/fleet-operator.md).

    locker-fleet keygen --kid ops-2026 --out ~/.config/locker-fleet
    locker-fleet kiosks
    locker-fleet open KIOSK-17 A07

``keygen`` makes the Ed25519 key pair that signs remote commands: the private key stays
with the operator (``KID.key``, mode 0600), the public key goes into every kiosk's
keyring (``[keys]`` of the file named by the kiosk's config), as the line it prints.
Every other command reads the config file (``--config``, ``$LOCKER_FLEET_CONFIG`` or
``~/.config/locker-fleet.toml``) and talks to the kiosks through the broker.

Exit codes: 0 done, 1 the kiosk refused, 2 wrong usage or config (or the broker refused
the login), 3 no answer in time (from the kiosk, or the broker), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.config import ConfigError
from kiosk.errors import LockerError
from kiosk.fleet import format as fmt
from kiosk.fleet import messages
from kiosk.fleet.envelope import new_key, private_pem
from kiosk.fleet.messages import Outgoing, Signer
from kiosk.fleet.operator import (
    Answer,
    BrokerUnreachable,
    LoginRefused,
    NoAnswer,
    Operator,
    check_kiosk_id,
)
from kiosk.fleet.operator_config import OperatorConfig, config_path, load_operator_config

PROG = "locker-fleet"
EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_NO_ANSWER, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
SETTABLE_HELP = ("a setting (repeat for more): policy.hold_hours, policy.max_extend_hours, "
                 "fleet.remote_opens_per_hour")  # fmt: skip

EXAMPLES = """\
examples:
  locker-fleet keygen --kid ops-2026 --out ~/.config/locker-fleet
  locker-fleet kiosks
  locker-fleet events --kiosk KIOSK-17 --follow
  locker-fleet announce KIOSK-17 JJD0001 --size M --phone +491701234567 --reserve
  locker-fleet cancel KIOSK-17 JJD0001
  locker-fleet open KIOSK-17 A07
  locker-fleet out-of-service KIOSK-17 A05 --reason "hinge broken"
  locker-fleet in-service KIOSK-17 A05
  locker-fleet extend KIOSK-17 JJD0001 --hours 24
  locker-fleet selftest KIOSK-17 --json
  locker-fleet configure KIOSK-17 --set policy.hold_hours=48

config (TOML; --config, $LOCKER_FLEET_CONFIG or ~/.config/locker-fleet.toml):
  broker = "broker.example.net:8884"
  password_file = "~/.config/locker-fleet.password"
  signing_key = "~/.config/locker-fleet/ops-2026.key"
  kid = "ops-2026"

exit codes: 0 done, 1 the kiosk refused, 2 usage or config, 3 no answer in time
"""


class Out:
    """Where results go: words for a person, or JSON for a script, never both."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def show(self, data: Any, text: str) -> None:
        print(json.dumps(data, ensure_ascii=False) if self.as_json else text, flush=True)


def warn(text: str) -> None:
    for line in text.splitlines():
        print(f"{PROG}: {line}", file=sys.stderr, flush=True)


# -- the signed messages -----------------------------------------------------------------
# Every message to a kiosk is built and signed by kiosk.fleet.messages, here as in any
# other program of the operator's.

Build = Callable[[Signer, argparse.Namespace], Outgoing]

SIGNED: dict[str, Build] = {
    "open": lambda s, a: messages.open_door(s, a.kiosk, a.compartment),
    "out-of-service": lambda s, a: messages.out_of_service(s, a.kiosk, a.compartment, a.reason),
    "in-service": lambda s, a: messages.in_service(s, a.kiosk, a.compartment),
    "extend": lambda s, a: messages.extend(s, a.kiosk, a.barcode, a.hours),
    "cancel": lambda s, a: messages.cancel_announcement(s, a.kiosk, a.barcode),
    "selftest": lambda s, a: messages.selftest(s, a.kiosk),
    "resend": lambda s, a: messages.resend_events(s, a.kiosk, a.from_seq),
    "announce": lambda s, a: messages.announce(
        s,
        a.kiosk,
        a.barcode,
        a.size,
        a.phone,
        a.email,
        reserve=a.reserve,
        reserve_hours=a.reserve_hours,
        version=a.version,
    ),
    "configure": lambda s, a: messages.desired_config(
        s, a.kiosk, dict(a.settings), version=a.version
    ),
}


def cmd_signed(op: Operator, config: OperatorConfig, args: argparse.Namespace, out: Out) -> int:
    try:
        message = SIGNED[args.command](args.signer, args)
    except ValueError as exc:
        warn(str(exc))
        return EXIT_USAGE
    return show_answer(op.deliver(message, args.timeout), out)


def show_answer(answer: Answer, out: Out) -> int:
    out.show(
        {"kiosk": answer.kiosk, "sent": answer.sent, "answer": answer.result},
        fmt.answer_text(answer),
    )
    return EXIT_OK if answer.ok else EXIT_REFUSED


# -- what the broker holds, and the events ------------------------------------------------


def cmd_kiosks(op: Operator, config: OperatorConfig, args: argparse.Namespace, out: Out) -> int:
    views = op.kiosks(args.settle)
    out.show({"kiosks": [v.as_json() for v in views]}, fmt.kiosks_table(views))
    return EXIT_OK


def cmd_events(op: Operator, config: OperatorConfig, args: argparse.Namespace, out: Out) -> int:
    if args.follow:
        for event in op.events(args.kiosk):
            out.show(event, fmt.event_text(event))
        return EXIT_OK
    settle_s = config.settle_s if args.settle is None else args.settle
    events = list(op.events(args.kiosk, until=time.monotonic() + settle_s))
    events.sort(key=lambda e: (str(e.get("kiosk")), _seq(e)))
    for event in events:
        out.show(event, fmt.event_text(event))
    if not events and not out.as_json:
        print(
            f"No events in {settle_s:g} s. The broker keeps none: --follow waits for new "
            "ones; a kiosk's own log is lockerctl events, there."
        )
    return EXIT_OK


def _seq(event: dict[str, Any]) -> int:
    seq = event.get("seq")
    return seq if isinstance(seq, int) else -1


# -- keygen -------------------------------------------------------------------------------


def keygen(kid: str, out: Path) -> str:
    path = out / f"{kid}.key"
    if path.exists():
        raise LockerError(f"{path} exists already; a new key needs a new id")
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    key, public = new_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private_pem(key))
    return public


def cmd_keygen(args: argparse.Namespace, out: Out) -> int:
    folder = Path(args.out).expanduser()
    try:
        public = keygen(args.kid, folder)
    except LockerError as exc:
        warn(str(exc))
        return EXIT_REFUSED
    path = folder / f"{args.kid}.key"
    line = f'{args.kid} = "{public}"'
    out.show(
        {"kid": args.kid, "signing_key": str(path), "public_key": public, "keyring_line": line},
        f"signing key written to {path} (keep it private)\n"
        f"pin it on each kiosk, in the keyring file under [keys]:\n{line}",
    )
    return EXIT_OK


# -- the parser ---------------------------------------------------------------------------

Handler = Callable[[Operator, OperatorConfig, argparse.Namespace, Out], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="The operator's side of a network of parcel-locker kiosks: what they "
        "report through the broker, and signed commands to them.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON instead of words")
    common.add_argument("--config", metavar="FILE", help="the config file (TOML)")
    waits = argparse.ArgumentParser(add_help=False, parents=[common])
    waits.add_argument(
        "--timeout",
        type=_seconds,
        metavar="S",
        help="seconds to wait for the kiosk's answer (config timeout_s, 15)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str,
        parents: list[argparse.ArgumentParser],
        text: str,
        handler: Handler | None,
        example: str,
    ) -> argparse.ArgumentParser:
        command = sub.add_parser(
            name,
            parents=parents,
            help=text,
            description=text,
            epilog=f"example:\n  {PROG} {example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.set_defaults(handler=handler)
        return command

    keygen = add(
        "keygen",
        [common],
        "make a key pair for signing remote commands",
        None,
        "keygen --kid ops-2026 --out ~/.config/locker-fleet",
    )
    keygen.add_argument("--kid", required=True, help="the key's id, e.g. ops-2026")
    keygen.add_argument("--out", default=".", help="directory for the private key")

    kiosks = add(
        "kiosks",
        [common],
        "list the kiosks: online or not, free compartments, alarms",
        cmd_kiosks,
        "kiosks",
    )
    kiosks.add_argument(
        "--settle",
        type=_seconds,
        metavar="S",
        help="seconds to gather what the broker holds (config settle_s, 1.5)",
    )

    events = add(
        "events",
        [common],
        "show events as kiosks send them, each once",
        cmd_events,
        "events --kiosk KIOSK-17 --follow",
    )
    events.add_argument("--kiosk", type=_kiosk, help="only this kiosk's events")
    events.add_argument("--follow", action="store_true", help="keep showing them until Ctrl-C")
    events.add_argument(
        "--settle",
        type=_seconds,
        metavar="S",
        help="without --follow: seconds to listen (config settle_s, 1.5)",
    )

    announce = add(
        "announce",
        [waits],
        "pre-announce a parcel, optionally holding a compartment for it (signed)",
        cmd_signed,
        "announce KIOSK-17 JJD0001 --size M --phone +491701234567",
    )
    announce.add_argument("kiosk", type=_kiosk, metavar="KIOSK", help="the kiosk's id")
    announce.add_argument("barcode", metavar="BARCODE", help="the parcel's barcode")
    announce.add_argument("--size", required=True, help="compartment size, e.g. S, M, L, XL")
    contact = announce.add_mutually_exclusive_group(required=True)
    contact.add_argument("--phone", help="the recipient's phone number")
    contact.add_argument("--email", help="the recipient's e-mail address")
    announce.add_argument("--reserve", action="store_true",
                          help="hold a compartment for it until it arrives")  # fmt: skip
    announce.add_argument("--reserve-hours", type=_reserve_hours, metavar="H",
                          help="how long to hold it (default 24, at most 168)")  # fmt: skip
    announce.add_argument(
        "--version",
        type=_version,
        metavar="N",
        help="the announcement's version (default: now in Unix milliseconds)",
    )

    configure = add(
        "configure",
        [waits],
        "set the kiosk's remotely settable settings (signed, retained)",
        cmd_signed,
        "configure KIOSK-17 --set policy.hold_hours=48 --set fleet.remote_opens_per_hour=5",
    )
    configure.add_argument("kiosk", type=_kiosk, metavar="KIOSK", help="the kiosk's id")
    configure.add_argument("--set", dest="settings", action="append", required=True,
                           type=_setting, metavar="KEY=VALUE", help=SETTABLE_HELP)  # fmt: skip
    configure.add_argument("--version", type=_version, metavar="N",
                           help="the version (default: now in Unix milliseconds)")  # fmt: skip

    _signed(add, waits)
    return parser


def _signed(add: Callable[..., argparse.ArgumentParser], waits: argparse.ArgumentParser) -> None:
    """The subcommands that send a signed command (:data:`SIGNED`)."""
    cancel = add(
        "cancel",
        [waits],
        "cancel a pre-announcement not yet deposited (signed)",
        cmd_signed,
        "cancel KIOSK-17 JJD0001",
    )
    cancel.add_argument("kiosk", type=_kiosk, metavar="KIOSK", help="the kiosk's id")
    cancel.add_argument("barcode", metavar="BARCODE", help="the parcel's barcode")
    opener = add(
        "open",
        [waits],
        "open one door (signed; counted by the kiosk's hourly cap)",
        cmd_signed,
        "open KIOSK-17 A07",
    )
    opener.add_argument("kiosk", type=_kiosk, metavar="KIOSK", help="the kiosk's id")
    opener.add_argument("compartment", metavar="COMPARTMENT", help="e.g. A07")
    oos = add(
        "out-of-service",
        [waits],
        "take a compartment out of service (signed)",
        cmd_signed,
        'out-of-service KIOSK-17 A05 --reason "hinge broken"',
    )
    oos.add_argument("kiosk", type=_kiosk, metavar="KIOSK", help="the kiosk's id")
    oos.add_argument("compartment", metavar="COMPARTMENT", help="e.g. A07")
    oos.add_argument("--reason", required=True, help="why, for the kiosk's log")
    back = add(
        "in-service",
        [waits],
        "put a compartment back in service (signed)",
        cmd_signed,
        "in-service KIOSK-17 A05",
    )
    back.add_argument("kiosk", type=_kiosk, metavar="KIOSK", help="the kiosk's id")
    back.add_argument("compartment", metavar="COMPARTMENT", help="e.g. A07")
    extend = add(
        "extend",
        [waits],
        "extend a stored parcel's hold (signed)",
        cmd_signed,
        "extend KIOSK-17 JJD0001 --hours 24",
    )
    extend.add_argument("kiosk", type=_kiosk, metavar="KIOSK", help="the kiosk's id")
    extend.add_argument("barcode", metavar="BARCODE", help="the parcel's barcode")
    extend.add_argument("--hours", required=True, type=_hours, help="hours to add")
    selftest = add(
        "selftest",
        [waits],
        "check every board and door sensor, opening nothing (signed)",
        cmd_signed,
        "selftest KIOSK-17",
    )
    selftest.add_argument("kiosk", type=_kiosk, metavar="KIOSK", help="the kiosk's id")
    resend = add(
        "resend",
        [waits],
        "ask a kiosk to send its events again from a sequence number (signed)",
        cmd_signed,
        "resend KIOSK-17 --from 1207",
    )
    resend.add_argument("kiosk", type=_kiosk, metavar="KIOSK", help="the kiosk's id")
    resend.add_argument("--from", dest="from_seq", required=True, type=_seq_number,
                        help="the first event's seq (a gap a consumer found)")  # fmt: skip


def _seq_number(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(
            f"a sequence number is a whole number from 1, not {text!r}"
        )
    return int(text)


def _kiosk(text: str) -> str:
    try:
        return check_kiosk_id(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0.1 <= value <= 300:
        raise argparse.ArgumentTypeError(f"must be between 0.1 and 300 seconds, got {text}")
    return value


def _hours(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) <= 720:
        raise argparse.ArgumentTypeError(f"must be a whole number of hours, 1 to 720, got {text!r}")
    return int(text)


def _version(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1, got {text!r}")
    return int(text)


def _reserve_hours(text: str) -> float:
    hours = float(text) if text.replace(".", "", 1).isdigit() else -1.0
    if not 0 < hours <= 168:
        raise argparse.ArgumentTypeError(f"must be hours above 0, at most 168, got {text!r}")
    return hours


def _setting(text: str) -> tuple[str, int | float]:
    """``KEY=VALUE`` with a number for its value (the kiosk checks the key and range)."""
    key, _, value = (part.strip() for part in text.partition("="))
    if not key or not value.replace(".", "", 1).isdigit():
        raise argparse.ArgumentTypeError(f"expected KEY=NUMBER, e.g. policy.hold_hours=48, "
                                         f"got {text!r}")  # fmt: skip
    return key, int(value) if value.isdigit() else float(value)


# -- main ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = Out(args.json)
    if args.handler is None:
        return cmd_keygen(args, out)
    try:
        config = load_operator_config(config_path(args.config))
        if args.command in SIGNED:  # a bad key is a config error, found before connecting
            args.signer = Signer(*config.load_signing_key())
        with Operator(config) as op:
            return int(args.handler(op, config, args, out))
    except ConfigError as exc:
        warn(str(exc))
        return EXIT_USAGE
    except LoginRefused as exc:
        warn(str(exc))
        return EXIT_USAGE
    except NoAnswer as exc:
        timeout_s = config.timeout_s if args.timeout is None else args.timeout
        out.show(
            {"kiosk": exc.kiosk, "sent": exc.sent, "answer": None},
            fmt.no_answer_text(exc, timeout_s),
        )
        return EXIT_NO_ANSWER
    except BrokerUnreachable as exc:
        warn(str(exc))
        return EXIT_NO_ANSWER
    except KeyboardInterrupt:
        return EXIT_OK if getattr(args, "follow", False) else EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
