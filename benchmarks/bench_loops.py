"""Cost of a loop (a switch going back to its own step): one task per pass, run one after another.

Runs ``flows/fk_loop.py`` with 1 pass and with N passes (``--passes``, default 500) through
``python flow.py run`` against a fresh temporary datastore, and prints the wall clock of each and
the cost per pass, ``(t(N) - t(1)) / (N - 1)``: the passes of a loop cannot overlap, so this is
the latency of one task start, run and commit. With Metaflow importable, ``flows/mf_loop.py``
is run the same way beside it.

Usage::

    python benchmarks/bench_loops.py --passes 500 --repeat 3
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOWS = Path(__file__).parent / "flows"


def _run(framework: str, passes: int, timeout: float) -> float:
    flow = FLOWS / ("fk_loop.py" if framework == "flowkit" else "mf_loop.py")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, FLOWKIT_DATASTORE_ROOT=str(Path(tmp) / "ds"))
        env["METAFLOW_HOME"] = tmp
        env["METAFLOW_DATASTORE_SYSROOT_LOCAL"] = tmp
        env["FLOWKIT_MAX_LOOP_ITERATIONS"] = str(max(passes, 1000))
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(flow), "run", "--passes", str(passes)],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        print(proc.stdout + proc.stderr, file=sys.stderr)
        raise SystemExit(2)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args()
    frameworks = ["flowkit"]
    if importlib.util.find_spec("metaflow") is not None:
        frameworks.append("metaflow")
    else:
        print("metaflow is not installed: flowkit only")
    print(f"{'framework':<10} {'1 pass':>9} {f'{args.passes} passes':>13} {'per pass':>10}")
    for framework in frameworks:
        one = statistics.median(_run(framework, 1, args.timeout) for _ in range(args.repeat))
        many = statistics.median(
            _run(framework, args.passes, args.timeout) for _ in range(args.repeat)
        )
        per_pass = (many - one) / max(1, args.passes - 1)
        print(f"{framework:<10} {one:>8.2f}s {many:>12.2f}s {per_pass * 1000:>8.1f}ms")


if __name__ == "__main__":
    main()
