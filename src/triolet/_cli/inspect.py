"""``python -m triolet ps PID`` and ``python -m triolet pstree PID``."""

from __future__ import annotations

import argparse
from typing import Any

from .._debug._cli import ps, pstree


def add_subcommand(subparsers: Any) -> None:
    for name, handler, help_text in (
        ("ps", ps, "list the tasks of a running triolet program (one line each)"),
        ("pstree", pstree, "show the task tree of a running triolet program"),
    ):
        parser: argparse.ArgumentParser = subparsers.add_parser(
            name,
            help=help_text,
            description=help_text + ". The program must opt in with TRIOLET_DEBUG_SERVER=1 or "
            "triolet.lowlevel.enable_debug_server().",
        )
        parser.add_argument("pid", type=int, help="process id of the triolet program")
        parser.set_defaults(handler=lambda args, handler=handler: handler(args.pid))
