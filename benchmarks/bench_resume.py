"""How long does resuming cost? Clone N successful foreach tasks, re-run the failed join.

Usage: python benchmarks/bench_resume.py [--width 1000] [--metaflow-width 200] [--repeat 3]

For each framework: run the flow once with the join failing (not timed), then time `resume
--origin-run-id` of that failed run several times (each resume is a new run, so every repetition
clones the same tasks). Prints the median resume wall time and the cost per cloned task;
Metaflow's figure is scaled per task when it uses a smaller width, and says so.
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

HERE = Path(__file__).resolve().parent
FLOWS = HERE / "flows"


def _run(argv: list[str], env: dict[str, str], expect_ok: bool) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=env["BENCH_CWD"])
    elapsed = time.perf_counter() - started
    if (proc.returncode == 0) != expect_ok:
        sys.exit(f"unexpected exit {proc.returncode} for {' '.join(argv)}:\n{proc.stderr[-2000:]}")
    return elapsed


def _flowkit_env(scratch: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWKIT_")}
    env.update(FLOWKIT_DATASTORE_ROOT=str(scratch / "ds"), BENCH_CWD=str(scratch))
    return env


def _metaflow_env(scratch: Path) -> dict[str, str]:
    home = scratch / "metaflow-home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("METAFLOW_")}
    env.update(
        METAFLOW_HOME=str(home),
        METAFLOW_DEFAULT_DATASTORE="local",
        METAFLOW_DEFAULT_METADATA="local",
        METAFLOW_DEFAULT_ENVIRONMENT="local",
        METAFLOW_DATASTORE_SYSROOT_LOCAL=str(scratch),
        USERNAME="bench",
        BENCH_CWD=str(scratch),
    )
    return env


def measure(kind: str, width: int, repeat: int) -> list[float]:
    """Median-able list of resume wall times for one framework."""
    with tempfile.TemporaryDirectory(prefix=f"bench-resume-{kind}-") as tmp:
        scratch = Path(tmp)
        if kind == "flowkit":
            env, flow, pre = _flowkit_env(scratch), FLOWS / "fk_resume.py", []
            run = [*pre, "run", "--width", str(width)]
            resume = [*pre, "resume", "--origin-run-id", "1"]
        else:
            env, flow, pre = _metaflow_env(scratch), FLOWS / "mf_resume.py", ["--no-pylint"]
            run = [*pre, "run", "--width", str(width), "--max-num-splits", str(width)]
            resume = [*pre, "resume", "--origin-run-id"]
        _run([sys.executable, str(flow), *run], {**env, "BENCH_FAIL_JOIN": "1"}, expect_ok=False)
        if kind == "metaflow":
            runs = sorted(p.name for p in (scratch / ".metaflow" / "MfResumeBenchFlow").iterdir())
            resume = [*resume, next(r for r in runs if r.isdigit())]
        return [_run([sys.executable, str(flow), *resume], env, True) for _ in range(repeat)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1000)
    parser.add_argument("--metaflow-width", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"{'framework':10} {'cloned':>7} {'resume median':>14} {'per cloned task':>16}")
    fk = statistics.median(measure("flowkit", args.width, args.repeat))
    fk_per = fk / args.width
    print(f"{'flowkit':10} {args.width:7d} {fk:13.2f}s {fk_per * 1000:14.2f}ms")
    print(f"target: cloning 1,000 tasks <= 2 s -> {'PASS' if fk_per * 1000 <= 2.0 else 'FAIL'}")
    if importlib.util.find_spec("metaflow") is None:
        print("metaflow: not installed")
        return 0
    mf = statistics.median(measure("metaflow", args.metaflow_width, args.repeat))
    mf_per = mf / args.metaflow_width
    print(f"{'metaflow':10} {args.metaflow_width:7d} {mf:13.2f}s {mf_per * 1000:14.2f}ms")
    note = " (per task; metaflow ran a smaller width)" if args.metaflow_width != args.width else ""
    print(f"ratio metaflow/flowkit per cloned task: {mf_per / fk_per:.1f}x{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
