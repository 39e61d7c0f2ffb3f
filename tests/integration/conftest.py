"""Integration tests: real libraries written for trio, run on triolet through the alias.

Each program in ``programs/`` runs in a fresh interpreter under
``python -m triolet run --as-trio`` (the alias can't be installed in pytest's process,
which has the real trio imported already), over loopback only, bounded in time. A test
is skipped, naming what is missing, only while triolet lacks a feature the program
needs.
"""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

import triolet

PROGRAMS = Path(__file__).parent / "programs"
PROCESS_TIME_LIMIT = 90  # seconds; each program also bounds itself, more tightly


def triolet_has(dotted_name: str) -> bool:
    """Whether ``triolet.<dotted_name>`` exists, importing submodules as needed."""
    current: object = triolet
    for part in dotted_name.split("."):
        if hasattr(current, part):
            current = getattr(current, part)
            continue
        if not isinstance(current, ModuleType):
            return False
        submodule = f"{current.__name__}.{part}"
        if importlib.util.find_spec(submodule) is None:
            return False
        current = importlib.import_module(submodule)
    return True


@pytest.fixture
def require_triolet() -> Callable[..., None]:
    """Skip the test, naming what is missing, if triolet lacks any of the given names."""

    def require(*dotted_names: str) -> None:
        missing = [f"triolet.{name}" for name in dotted_names if not triolet_has(name)]
        if missing:
            pytest.skip(f"needs {', '.join(missing)}, which triolet does not have yet")

    return require


@pytest.fixture
def run_program() -> Callable[..., str]:
    """Run ``programs/NAME`` with ARGS under the trio alias; return its stdout.

    Fails with the program's stderr if it exits with a non-zero status. ``known_bug``,
    a ``(signature, reason)`` pair, names a bug in another triolet module, already
    reported: a failure whose stderr contains ``signature`` is an xfail, and a success
    fails the test, so that the entry is removed once the bug is fixed.
    """

    def run(name: str, *args: str, known_bug: tuple[str, str] | None = None) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "triolet", "run", "--as-trio", str(PROGRAMS / name), *args],
            capture_output=True,
            text=True,
            timeout=PROCESS_TIME_LIMIT,
        )
        if result.returncode != 0 and known_bug is not None and known_bug[0] in result.stderr:
            pytest.xfail(known_bug[1])
        assert result.returncode == 0, (
            f"{name} {' '.join(args)} exited with status {result.returncode}:\n{result.stderr}"
        )
        if known_bug is not None:
            pytest.fail(f"{name} passes: this bug seems fixed, remove it: {known_bug[1]}")
        return result.stdout

    return run
