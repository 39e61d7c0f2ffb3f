"""``python -m triolet run [--as-trio] [-m] TARGET [ARGS...]``: run a program like
``python TARGET ARGS...`` (or ``python -m TARGET ARGS...``), optionally with the trio
alias installed first, so that a program written for trio runs on triolet unchanged."""

from __future__ import annotations

import argparse
import os
import runpy
import sys
from typing import Any

from .._alias import install_trio_alias


def add_subcommand(subparsers: Any) -> None:
    """Register the ``run`` subcommand on an argparse subparsers object."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "run",
        help="run a Python script or module, optionally as if triolet were trio",
        description=(
            "Run a script (or, with -m, a module) as __main__, with ARGS as its "
            "command-line arguments."
        ),
    )
    parser.add_argument(
        "--as-trio",
        action="store_true",
        help="install the trio alias first: 'import trio' gives triolet, and sniffio "
        "reports 'trio' inside runs",
    )
    parser.add_argument(
        "-m",
        dest="is_module",
        action="store_true",
        help="TARGET is a module name to run, as with 'python -m'",
    )
    parser.add_argument("target", metavar="TARGET", help="script path (or module name with -m)")
    parser.add_argument("args", metavar="ARGS", nargs=argparse.REMAINDER, help="its arguments")
    parser.set_defaults(handler=run_target, parser=parser)


def run_target(args: argparse.Namespace) -> int:
    """Run the script or module named by ``args``; return 0 if it finished normally.

    Whatever the program raises propagates (SystemExit included), as with ``python``.
    """
    if not args.is_module and not os.path.isfile(args.target):
        args.parser.error(f"can't open file {args.target!r}: no such file")
    if args.as_trio:
        install_trio_alias()
    sys.argv = [args.target, *args.args]
    if args.is_module:
        # As 'python -m' does: sys.path[0] is the current directory (already true under
        # 'python -m triolet'), and runpy sets sys.argv[0] to the module's file.
        runpy.run_module(args.target, run_name="__main__", alter_sys=True)
    else:
        # As 'python SCRIPT' does: the script's directory comes first on sys.path.
        sys.path[0] = os.path.dirname(os.path.abspath(args.target))
        runpy.run_path(args.target, run_name="__main__")
    return 0
