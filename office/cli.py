"""``locker-office``: serve, migrate, users, staff, demo, check-config (docs/office.md)."""

from __future__ import annotations

import argparse
import logging
import sys

from sqlalchemy.exc import SQLAlchemyError

from kiosk.fleet.net import is_loopback
from office import staff_cli
from office.checks import OfficeConfigError
from office.config import ENV_VAR, OfficeConfig, config_path, load_office_config
from office.store.migrate import SchemaNotCurrent

EXAMPLES = """examples:
  locker-office --config /etc/locker-office/office.toml check-config
  locker-office migrate
  locker-office users add alice --role admin
  locker-office staff register KIOSK-17 --key <its staff key> --site berlin-mitte
  locker-office staff add anna --role courier --site berlin-mitte
  locker-office staff revoke anna --why "left the company"
  locker-office serve --client-id office-2
  locker-office demo
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="locker-office",
        epilog=EXAMPLES,
        formatter_class=argparse.RawTextHelpFormatter,
        description="The operator's back office: the network's memory, beside the broker.",
    )
    parser.add_argument(
        "--config",
        help=f"the config file (default: ${ENV_VAR}, else /etc/locker-office/office.toml)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="ingest from the broker and answer on HTTP")
    serve.add_argument(
        "--client-id",
        help="this process's MQTT client id (each serve process "
        "needs its own; default: mqtt.client_id)",
    )
    serve.add_argument("--listen", help="HOST:PORT for HTTP (default: web.listen)")
    sub.add_parser("migrate", help="bring the database's schema to this version")
    sub.add_parser("check-config", help="check the config file and say what is wrong")
    demo = sub.add_parser("demo", help="a broker, three simulated kiosks and the office")
    demo.add_argument("--keep", action="store_true", help="keep the demo's folder at the end")
    users = sub.add_parser("users", help="the console's own accounts")
    users_sub = users.add_subparsers(dest="action", required=True)
    add = users_sub.add_parser("add", help="a new account (asks for its password)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=["viewer", "dispatcher", "admin"])
    add.add_argument(
        "--site",
        action="append",
        default=[],
        help="limit the account to this site (repeat for several)",
    )
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    users_sub.add_parser("list", help="every account")
    passwd = users_sub.add_parser("passwd", help="a new password (signs the account out)")
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true")
    remove = users_sub.add_parser("disable", help="sign out and refuse an account")
    remove.add_argument("username")
    staff_cli.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    if args.command != "migrate":
        logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        return _dispatch(args)
    except OfficeConfigError as exc:
        for problem in exc.problems:
            print(f"locker-office: {problem}", file=sys.stderr)
        return 2
    except SchemaNotCurrent as exc:
        print(f"locker-office: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(f"locker-office: the database: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "demo":
        from office.demo import run_demo

        return run_demo(keep=args.keep)
    path = config_path(args.config)
    config = load_office_config(path)
    if args.command == "check-config":
        return _check(config)
    if args.command == "serve":
        return _serve(config, args)
    from office.store.engine import make_engine

    engine = make_engine(config.database)
    if args.command == "migrate":
        from office.store.migrate import upgrade

        before, after = upgrade(engine)
        print(
            f"schema: {before or 'none'} -> {after}"
            if before != after
            else f"schema: {after}, already the newest"
        )
        return 0
    if args.command == "staff":
        return staff_cli.run_staff(config, engine, args)
    from office.users_cli import run_users

    return run_users(engine, args)


def _check(config: OfficeConfig) -> int:
    config.load_signing_key()  # a key others may read is a problem here too
    where = config.database.render_as_string(hide_password=True)
    print(
        f"{config.source}: ok (database {where}, broker {config.mqtt.host}:"
        f"{config.mqtt.port} as {config.mqtt.username}, client id {config.mqtt.client_id})"
    )
    if config.signing_key is None:
        print(
            f"{config.source}: note: no [signing] key: gaps in a kiosk's events are found "
            "but cannot be asked for again"
        )
    return 0


def _serve(config: OfficeConfig, args: argparse.Namespace) -> int:
    from dataclasses import replace

    from office.serve import serve

    if args.client_id:
        config = replace(config, mqtt=replace(config.mqtt, client_id=args.client_id))
    if args.listen:
        host, _, port = args.listen.rpartition(":")
        if not host or not port.isdigit():
            print(
                f"locker-office: --listen must be HOST:PORT, got {args.listen!r}", file=sys.stderr
            )
            return 2
        config = replace(config, listen_host=host.strip("[]"), listen_port=int(port))
        web = config.web
        if not (web.has_tls or web.trusted_proxies or is_loopback(config.listen_host)):
            print(
                f"locker-office: --listen {args.listen} faces a network: give [web] "
                "tls_cert and tls_key, or a trusted_proxy in front",
                file=sys.stderr,
            )
            return 2
    return serve(config)


if __name__ == "__main__":
    sys.exit(main())
