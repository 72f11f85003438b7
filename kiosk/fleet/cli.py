"""``locker-fleet``: the operator's side of the network of kiosks.

    locker-fleet keygen --kid ops-2026 --out /etc/locker-fleet

``keygen`` makes the Ed25519 key pair that signs remote commands: the private key stays
with the operator (``KID.key``, mode 0600), the public key goes into every kiosk's
keyring (``[keys]`` of the file named by the kiosk's config), as the line it prints.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from kiosk.errors import LockerError
from kiosk.fleet.envelope import new_key, private_pem


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="locker-fleet",
        description="The operator's side of a network of parcel-locker kiosks.",
        epilog="example:\n  locker-fleet keygen --kid ops-2026 --out /etc/locker-fleet",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    keygen = sub.add_parser(
        "keygen",
        help="make a key pair for signing remote commands",
        description="Write a new Ed25519 signing key to OUT/KID.key (mode 0600) and print "
        "the line that pins its public key in a kiosk's keyring.",
    )
    keygen.add_argument("--kid", required=True, help="the key's id, e.g. ops-2026")
    keygen.add_argument("--out", default=".", help="directory for the private key")
    return parser


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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        public = keygen(args.kid, Path(args.out))
    except LockerError as exc:
        print(f"locker-fleet: {exc}", file=sys.stderr)
        return 1
    print(f"signing key written to {Path(args.out) / (args.kid + '.key')} (keep it private)")
    print("pin it on each kiosk, in the keyring file under [keys]:")
    print(f'{args.kid} = "{public}"')
    return 0


if __name__ == "__main__":
    sys.exit(main())
