"""Count CPU instructions per operation with callgrind: a deterministic second opinion.

Usage: ``python benchmarks/instructions.py [--only a,b] [--impl triolet,trio,asyncio]``.
Needs ``valgrind``; never run by pytest.

Timings on a shared machine drift from run to run; instruction counts do not. Each
(workload, implementation) runs under ``valgrind --tool=callgrind`` twice, at the workload's
quick size and at twice that, through ``child.py``; the difference between the two counts,
divided by the difference in operations, is the cost of one operation with start-up, imports
and the event loop's own set-up cancelled out. The ratio columns are other / triolet, so
they read like the throughput ratios of ``run.py`` (higher is better for triolet).

Instruction counts are a proxy, not a measurement of speed: they leave out cache misses,
branch mispredictions and (for the networking workloads) all the time spent in the kernel.
In practice throughput ratios have come out within about 15 % of instruction ratios for the
workloads that stay in user space.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_WORKLOADS = "checkpoint,spawn,move_on_after,ping_pong,fan_in,event,lock"
COLLECTED = re.compile(r"Collected : (\d+)")


def real_python() -> str:
    """The interpreter binary itself (valgrind must not trace a pyenv shim script)."""
    return os.path.realpath(sys.executable)


def count(workload: str, impl: str, size: int) -> tuple[int, int]:
    """Instructions of one child run, and the operations it reported."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        real_python(),
        str(HERE / "child.py"),
        workload,
        impl,
        str(size),
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=HERE, check=False)
    match = COLLECTED.search(done.stderr)
    result_lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if match is None or not result_lines:
        raise RuntimeError(f"{workload}/{impl}: callgrind run failed:\n{done.stderr[-2000:]}")
    payload = json.loads(result_lines[-1].removeprefix("RESULT "))
    if "error" in payload:
        raise RuntimeError(f"{workload}/{impl}: {payload['error']}")
    return int(match.group(1)), int(payload["ops"])


def per_op(workload: str, impl: str) -> float:
    module = importlib.import_module(f"workloads.{workload}")
    small = module.QUICK_SIZE
    instructions_1, ops_1 = count(workload, impl, small)
    instructions_2, ops_2 = count(workload, impl, 2 * small)
    return (instructions_2 - instructions_1) / (ops_2 - ops_1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=DEFAULT_WORKLOADS, help="comma-separated workloads")
    parser.add_argument("--impl", default="triolet,trio,asyncio", help="comma-separated")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed; this script needs it", file=sys.stderr)
        return 2
    sys.path.insert(0, str(HERE))
    workloads = [name for name in args.only.split(",") if name]
    impls = [name for name in args.impl.split(",") if name]
    jobs = [(workload, impl) for workload in workloads for impl in impls]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        costs = dict(zip(jobs, pool.map(lambda job: per_op(*job), jobs), strict=True))
    others = [impl for impl in impls if impl != "triolet"]
    header = ["workload", *(f"{impl} instr/op" for impl in impls)]
    header += [f"{other} / triolet" for other in others if "triolet" in impls]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for workload in workloads:
        cells = [f"`{workload}`", *(f"{costs[(workload, impl)]:,.0f}" for impl in impls)]
        if "triolet" in impls:
            mine = costs[(workload, "triolet")]
            cells += [f"{costs[(workload, other)] / mine:.2f}x" for other in others]
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
