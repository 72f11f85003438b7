"""Every example a program's --help shows is a command line the program takes: an
operator copies them."""

import argparse
import re
import shlex
from collections.abc import Callable

import pytest

from kiosk.commands.cli import EPILOG as KIOSK_EXAMPLES
from kiosk.commands.cli import build_parser as kiosk_parser
from kiosk.fleet.cli import EXAMPLES as FLEET_EXAMPLES
from kiosk.fleet.cli import build_parser as fleet_parser
from office.cli import EXAMPLES as OFFICE_EXAMPLES
from office.cli import build_parser as office_parser

PROGRAMS: dict[str, tuple[str, Callable[[], argparse.ArgumentParser]]] = {
    "locker-kiosk": (KIOSK_EXAMPLES, kiosk_parser),
    "locker-fleet": (FLEET_EXAMPLES, fleet_parser),
    "locker-office": (OFFICE_EXAMPLES, office_parser),
}


def examples(text: str, prog: str) -> list[list[str]]:
    """The arguments of each example: its words up to a gap of two spaces (where its
    explanation begins) or a redirection, a <placeholder> taken as one word."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(prog + " "):
            command = re.split(r"\s{2,}| [>|] ", line)[0]
            out.append(shlex.split(re.sub(r"<[^>]*>", "X", command))[1:])
    return out


@pytest.mark.parametrize("prog", sorted(PROGRAMS))
def test_every_example_in_the_help_is_a_command_line_the_program_takes(
    prog: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text, build = PROGRAMS[prog]
    shown = examples(text, prog)
    assert shown, f"{prog} --help shows no examples"
    for argv in shown:
        try:
            build().parse_args(argv)
        except SystemExit:
            pytest.fail(f"{prog} {shlex.join(argv)}: {capsys.readouterr().err.strip()}")
