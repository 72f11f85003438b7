"""What ``locker-office``'s commands ask of the person at the terminal: who they are (for
the audit) and a password, typed twice unless it comes on standard input."""

from __future__ import annotations

import argparse
import getpass
import os
import sys


def read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise ValueError("the two passwords differ")
    return first


def operator_name() -> str:
    """Who ran the command, for the audit: ``cli:<login>``."""
    try:
        return f"cli:{os.getlogin()}"
    except OSError:
        return f"cli:{getpass.getuser()}"
