"""Run one workload for one implementation in this (fresh) process; print the result as JSON.

Usage: ``python benchmarks/child.py WORKLOAD IMPLEMENTATION SIZE``. ``run.py`` starts one of
these per measurement. The last stdout line is ``RESULT <json>``: either
``{"ops", "seconds", "cpu_seconds", "metrics"}`` or ``{"error": "..."}`` when the implementation cannot run
the workload (for example a triolet feature that does not exist yet).
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback
from pathlib import Path

RESULT_PREFIX = "RESULT "

# Measure the triolet of this checkout, not whichever one happens to be installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))


def _describe(error: BaseException) -> str:
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return traceback.format_exception_only(error)[-1].strip()


def main(argv: list[str]) -> int:
    workload_name, implementation, size = argv
    workload = importlib.import_module(f"workloads.{workload_name}")
    run = getattr(workload, f"run_{implementation}")
    payload: dict[str, object]
    try:
        result = run(int(size))
    except Exception as error:
        payload = {"error": _describe(error)}
    else:
        payload = {
            "ops": result.ops,
            "seconds": result.seconds,
            "cpu_seconds": result.cpu_seconds,
            "metrics": result.metrics,
        }
    sys.stdout.write(RESULT_PREFIX + json.dumps(payload) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
