"""How fast is the client on a flow with many runs? ``latest_run``, listings, ``flowkit runs``.

Usage: python benchmarks/bench_client.py [--runs 10000] [--repeat 5] [--check]

Creates a throw-away datastore holding one flow with ``--runs`` run records (written straight
through ``FlowDatastore.new_run``/``finish_run``, as the runner writes them; every 10th run failed,
every 100th tagged ``prod``), then times, each as the median of ``--repeat`` tries:

- ``Flow(name).latest_run`` with a fresh client context (no cache), in this process;
- the same in a fresh interpreter, ``from flowkit import Flow`` included (what a notebook cell
  or a script pays the first time);
- ``latest_successful_run`` when the newest runs failed;
- iterating every run (``list(flow.runs())``), one tag filter, ``to_frame()`` (median of 3;
  pandas imported beforehand);
- ``flowkit runs NAME`` (latest 20) as a subprocess, start-up included.

``--check`` exits 1 when ``latest_run`` takes more than 0.1 s.
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

from flowkit.client import ClientContext, Flow
from flowkit.datastore import ByteStorage, FlowDatastore, RunRecord

FLOW = "BenchFlow"
TARGET_LATEST_S = 0.1
# What the `flowkit` console script runs; started with sys.executable so no PATH shim is timed.
_CLI = "from flowkit.cli.main import main; main()"


def populate(root: str, count: int) -> None:
    """Write ``count`` run records (start and end) for ``FLOW``."""
    store = FlowDatastore(ByteStorage(root), FLOW)
    now = time.time() - count
    for i in range(1, count + 1):
        tags = ["prod"] if i % 100 == 0 else []
        record = RunRecord(
            flow=FLOW,
            run_id="",
            created_at=now + i,
            user="bench",
            tags=tags,
            parameter_values={"alpha": repr(i / 10)},
        )
        run_id = store.new_run(record)
        # The newest 3 runs failed, so latest_successful_run has to look past them.
        status = "failed" if i % 10 == 0 or i > count - 3 else "succeeded"
        store.finish_run(run_id, status, now + i + 1)


def median_time(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``fn()`` over ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def fresh_interpreter(root: str, code: str, repeat: int) -> float:
    """Median of the time ``code`` takes inside a new interpreter (start-up excluded)."""
    timed = f"import time; t = time.perf_counter()\n{code}\nprint(time.perf_counter() - t)"
    env = dict(os.environ, FLOWKIT_DATASTORE_ROOT=root)
    samples = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", timed], env=env, capture_output=True, text=True, check=True
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def wall(argv: list[str], root: str, repeat: int) -> float:
    """Median wall time of a command, start-up included."""
    env = dict(os.environ, FLOWKIT_DATASTORE_ROOT=root)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(argv, env=env, capture_output=True, check=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--check", action="store_true", help="exit 1 if latest_run > 0.1 s")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-client-") as tmp:
        root = str(Path(tmp) / "ds")
        started = time.perf_counter()
        populate(root, args.runs)
        print(f"{args.runs} run records written in {time.perf_counter() - started:.1f} s\n")

        def flow() -> Flow:
            return ClientContext(root).flow(FLOW)  # a new context: nothing cached

        import pandas  # noqa: F401 - imported once up front: to_frame is timed, not the import

        latest = flow().latest_run
        assert latest is not None and latest.id == str(args.runs), latest
        rows = [
            ("Flow(name).latest_run", median_time(lambda: flow().latest_run, args.repeat)),
            (
                "  same, fresh interpreter incl. import",
                fresh_interpreter(
                    root, "from flowkit import Flow\nFlow('BenchFlow').latest_run", args.repeat
                ),
            ),
            (
                "latest_successful_run (3 newest failed)",
                median_time(lambda: flow().latest_successful_run, args.repeat),
            ),
            (f"list(flow.runs()) ({args.runs} runs)", median_time(lambda: list(flow().runs()), 3)),
            ("list(flow.runs('prod'))", median_time(lambda: list(flow().runs("prod")), 3)),
            ("flow.to_frame()", median_time(lambda: flow().to_frame(), 3)),
            (
                "flowkit runs BenchFlow (subprocess)",
                wall([sys.executable, "-c", _CLI, "runs", FLOW], root, args.repeat),
            ),
        ]
        width = max(len(name) for name, _ in rows)
        for name, seconds in rows:
            print(f"{name.ljust(width)}  {seconds * 1000:9.1f} ms")
    slow = rows[0][1] > TARGET_LATEST_S
    if slow:
        print(f"\nlatest_run is above the {TARGET_LATEST_S * 1000:.0f} ms target")
    return 1 if args.check and slow else 0


if __name__ == "__main__":
    sys.exit(main())
