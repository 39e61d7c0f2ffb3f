"""``python -m triolet``: a small dispatcher of subcommands.

Each subcommand lives in a module of this package that defines
``add_subcommand(subparsers)``; that function adds its parser and sets ``handler`` (a
function from the parsed arguments to an exit status) with ``set_defaults``. To add a
subcommand, write such a module and list it in ``_SUBCOMMANDS``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import inspect, run

_SUBCOMMANDS = (run, inspect)


def build_parser() -> argparse.ArgumentParser:
    """The parser for ``python -m triolet`` with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="python -m triolet",
        description="Tools for running and inspecting triolet programs.",
    )
    subparsers = parser.add_subparsers(title="subcommands", metavar="SUBCOMMAND")
    for subcommand in _SUBCOMMANDS:
        subcommand.add_subcommand(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``), run the subcommand, return its status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        if (argv is None and len(sys.argv) <= 1) or (argv is not None and not argv):
            from .._repl import main as repl

            return repl()  # no subcommand at all: the interactive console
        parser.print_help()
        return 2
    status: int = handler(args)
    return status
