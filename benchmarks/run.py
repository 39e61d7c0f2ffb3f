"""Benchmark harness: triolet against trio and asyncio, each workload in fresh processes.

    python benchmarks/run.py                 # every workload, 5 interleaved repetitions
    python benchmarks/run.py --quick         # smoke test: small sizes, one repetition
    python benchmarks/run.py --only checkpoint --only spawn --repeat 9
    python benchmarks/run.py --write         # also update benchmarks/RESULTS.md

Every (workload, implementation, repetition) runs in its own ``child.py`` process. Repetitions
are interleaved (all workloads and implementations once, then again) and the order of
implementations rotates each round, so slow drift of the machine spreads over all of them.
The table shows medians; ratios are triolet's throughput over the other implementation's.
Workloads live in ``benchmarks/workloads/`` (see README.md for how to add one).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from report import Sample, Workload, render_console, write_results
from workloads._common import Metric

BENCHMARKS_DIR = Path(__file__).resolve().parent
CHILD = BENCHMARKS_DIR / "child.py"
RESULT_PREFIX = "RESULT "
PREFERRED_ORDER = ("triolet", "trio", "asyncio", "bare")


def discover_workloads() -> list[Workload]:
    """Import every ``workloads/<name>.py`` (not starting with ``_``) and read its contract."""
    found = []
    for path in sorted((BENCHMARKS_DIR / "workloads").glob("*.py")):
        if path.stem.startswith("_"):
            continue
        module = importlib.import_module(f"workloads.{path.stem}")
        implementations = [
            name.removeprefix("run_")
            for name in dir(module)
            if name.startswith("run_") and callable(getattr(module, name))
        ]
        implementations.sort(
            key=lambda impl: (
                PREFERRED_ORDER.index(impl) if impl in PREFERRED_ORDER else len(PREFERRED_ORDER),
                impl,
            )
        )
        metrics: dict[str, Metric] = getattr(module, "METRICS", {})
        found.append(
            Workload(
                name=path.stem,
                title=module.TITLE,
                unit=module.UNIT,
                issue=getattr(module, "ISSUE", None),
                order=getattr(module, "ORDER", 0),
                size=module.SIZE,
                quick_size=module.QUICK_SIZE,
                targets=getattr(module, "TARGETS", {}),
                metrics=metrics,
                implementations=implementations,
            )
        )
    found.sort(key=lambda workload: (workload.issue or 0, workload.order, workload.name))
    return found


def run_child(workload: str, implementation: str, size: int, timeout: float) -> Sample:
    """Measure one workload once for one implementation, in a new interpreter."""
    command = [sys.executable, str(CHILD), workload, implementation, str(size)]
    environment = dict(os.environ, PYTHONHASHSEED="0")
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=environment
        )
    except subprocess.TimeoutExpired:
        return Sample(error=f"timed out after {timeout:g} s")
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if completed.returncode != 0 or not lines:
        stderr_tail = completed.stderr.strip().splitlines()[-1:] or ["no output"]
        return Sample(error=f"child exited with {completed.returncode}: {stderr_tail[0]}")
    payload = json.loads(lines[-1].removeprefix(RESULT_PREFIX))
    if "error" in payload:
        return Sample(error=payload["error"])
    return Sample(
        ops=payload["ops"],
        seconds=payload["seconds"],
        cpu_seconds=payload.get("cpu_seconds"),
        metrics=payload["metrics"],
    )


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark triolet against trio and asyncio (fresh process per run)."
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run only this workload (repeatable, or comma-separated)",
    )
    parser.add_argument(
        "--impl",
        action="append",
        metavar="NAME",
        help="run only this implementation (repeatable, or comma-separated)",
    )
    parser.add_argument(
        "--repeat", type=int, help="repetitions per workload and implementation (default 5)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: small sizes, one repetition"
    )
    parser.add_argument(
        "--write", action="store_true", help="update benchmarks/RESULTS.md with this run"
    )
    parser.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="rates per second of process CPU time (default: steady on a shared, loaded "
        "machine; falls back to wall time for workloads that do not report CPU time) "
        "or of wall-clock time",
    )
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds before a child is killed"
    )
    arguments = parser.parse_args(argv)
    if arguments.repeat is None:
        arguments.repeat = 1 if arguments.quick else 5
    if arguments.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {arguments.repeat}")
    if arguments.quick and arguments.write:
        parser.error("--quick results are a smoke test; run without --quick to --write them")
    return arguments


def _split(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [name for value in values for name in value.split(",") if name]


def select(workloads: list[Workload], arguments: argparse.Namespace) -> list[Workload]:
    """Apply ``--only`` and ``--impl``; exit with a message naming anything unknown."""
    only = _split(arguments.only)
    if only is not None:
        known = {workload.name for workload in workloads}
        unknown = sorted(set(only) - known)
        if unknown:
            sys.exit(f"unknown workload(s) {unknown}; known: {sorted(known)}")
        workloads = [workload for workload in workloads if workload.name in only]
    implementations = _split(arguments.impl)
    if implementations is not None:
        for workload in workloads:
            workload.implementations = [
                impl for impl in workload.implementations if impl in implementations
            ]
    return workloads


def main(argv: list[str]) -> int:
    arguments = parse_arguments(argv)
    workloads = select(discover_workloads(), arguments)
    if arguments.list:
        for workload in workloads:
            print(f"{workload.name:15} {', '.join(workload.implementations):30} {workload.title}")
        return 0
    load_at_start = os.getloadavg()[0]
    started = time.monotonic()
    for repetition in range(arguments.repeat):
        for workload in workloads:
            size = workload.quick_size if arguments.quick else workload.size
            count = len(workload.implementations)
            rotation = repetition % count if count else 0
            order = workload.implementations[rotation:] + workload.implementations[:rotation]
            for implementation in order:
                sample = run_child(workload.name, implementation, size, arguments.timeout)
                workload.samples.setdefault(implementation, []).append(sample)
                print(
                    f"[{repetition + 1}/{arguments.repeat}] {workload.name:14} "
                    f"{implementation:8} {sample.describe(workload.unit, arguments.clock)}",
                    file=sys.stderr,
                    flush=True,
                )
    elapsed = time.monotonic() - started
    print(render_console(workloads, arguments.clock))
    print(f"\n{arguments.repeat} repetition(s) in {elapsed:.0f} s")
    if arguments.write:
        command = shlex.join(["python", "benchmarks/run.py", *argv])
        load_average = f"{load_at_start:.2f} / {os.getloadavg()[0]:.2f}"
        path = write_results(
            workloads,
            command=command,
            repeat=arguments.repeat,
            load_average=load_average,
            clock=arguments.clock,
        )
        print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
