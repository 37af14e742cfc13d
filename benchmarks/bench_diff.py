"""How long does comparing two runs take? ``run_a.diff(run_b)`` and ``flowkit diff`` on a wide
foreach.

Usage: python benchmarks/bench_diff.py [--width 1000] [--repeat 3]

Runs ``flows/fk_foreach.py`` three times in a throw-away datastore (``--width`` splits twice,
``--width + 1`` once), then times, each as the median of ``--repeat`` tries with a fresh client
context (no cache):

- ``diff`` of the two equal runs in this process: every task's manifest read, every artifact
  compared by hash, nothing loaded;
- ``diff`` of runs whose foreach differs by one split: the differing lists are loaded once each
  for their summaries;
- ``flowkit diff`` of the equal runs as a subprocess, start-up included.

There is no Metaflow column: Metaflow has no run diff.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from flowkit.client import ClientContext

FLOW = Path(__file__).resolve().parent / "flows" / "fk_foreach.py"
_CLI = "from flowkit.cli.main import main; main()"


def _median(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fk-bench-diff-") as work:
        root = str(Path(work) / "datastore")
        env = dict(os.environ, FLOWKIT_DATASTORE_ROOT=root)
        for width in (args.width, args.width, args.width + 1):
            subprocess.run(
                [sys.executable, str(FLOW), "run", "--width", str(width)],
                env=env,
                cwd=work,
                check=True,
                capture_output=True,
            )

        def diff(b: str) -> object:
            context = ClientContext(root)
            found = context.run("ForeachBench/1").diff(context.run(f"ForeachBench/{b}"))
            assert found.equal == (b == "2")
            return found

        equal = _median(args.repeat, lambda: diff("2"))
        different = _median(args.repeat, lambda: diff("3"))
        command = [sys.executable, "-c", _CLI, "diff", "ForeachBench/1", "2"]
        cli = _median(args.repeat, lambda: subprocess.run(command, env=env, capture_output=True))
    tasks = args.width + 3
    print(f"two runs of {tasks} tasks each (foreach width {args.width}), median of {args.repeat}")
    per_task = equal / tasks * 1e3
    print(f"  diff, equal runs (in process)          {equal:7.2f} s  ({per_task:.2f} ms/task)")
    print(f"  diff, one more split (in process)      {different:7.2f} s")
    print(f"  flowkit diff, equal runs (subprocess)  {cli:7.2f} s")


if __name__ == "__main__":
    main()
