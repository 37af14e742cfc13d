"""How fast is the client on a flow with many runs? ``latest_run``, listings, ``flowkit runs``.

Usage: python benchmarks/bench_client.py [--runs 10000] [--repeat 5] [--check]
           [--listing-runs 200] [--listing-repeat 30] [--listing-rounds 5]
           [--metaflow-python PATH] [--listing-only]

First, listing ``--listing-runs`` runs in-process (``list(Flow(name).runs())`` with a fresh
client context, median of ``--listing-repeat`` tries, in ``--listing-rounds`` rounds alternating
with Metaflow's), side by side with Metaflow's
``list(Flow(name).runs())`` on its local metadata when Metaflow can be imported (from this
interpreter, or the one ``--metaflow-python`` names, e.g. a private venv's ``bin/python``). The
Metaflow datastore is made from one real ``python flow.py run`` whose run folder is copied
under new run ids (running 200 flows would take minutes); without Metaflow the issue's reference
figure (3.5-3.9 ms on the lead's machine) is printed instead.

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


def flowkit_lister(root: str, count: int) -> Callable[[], object]:
    """Write ``count`` runs under ``root``; return the listing to time (a fresh context)."""
    populate(root, count)

    def listing() -> int:
        return len(list(ClientContext(root).flow(FLOW).runs()))

    assert listing() == count
    return listing


_METAFLOW_FLOW = """
from metaflow import FlowSpec, step

class BenchFlow(FlowSpec):
    @step
    def start(self):
        self.x = 1
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    BenchFlow()
"""

# Run by the Metaflow interpreter in the folder of one real run: copies it under new run ids.
_METAFLOW_COPY = """
import os, shutil, sys
count = int(sys.argv[1])
flow_dir = os.path.join(".metaflow", "BenchFlow")
[seed] = [d for d in os.listdir(flow_dir) if d.isdigit()]
for i in range(1, count):
    new = str(int(seed) + i)
    shutil.copytree(os.path.join(flow_dir, seed), os.path.join(flow_dir, new))
    for folder, _, files in os.walk(os.path.join(flow_dir, new)):
        for name in files:
            if name.endswith(".json"):
                path = os.path.join(folder, name)
                with open(path) as f:
                    text = f.read()
                with open(path, "w") as f:
                    f.write(text.replace(seed, new))
"""

_METAFLOW_LISTING = """
import statistics, sys, time
from metaflow import Flow, namespace
count, repeat = int(sys.argv[1]), int(sys.argv[2])
namespace(None)
assert len(list(Flow("BenchFlow").runs())) == count
times = []
for _ in range(repeat):
    started = time.perf_counter()
    list(Flow("BenchFlow").runs())
    times.append(time.perf_counter() - started)
print(statistics.median(times))
"""


def metaflow_python(explicit: str | None) -> str | None:
    """The interpreter that can import Metaflow: ``explicit``, else this one if it can."""
    if explicit:
        return explicit
    try:
        import metaflow  # noqa: F401
    except ImportError:
        return None
    return sys.executable


def metaflow_lister(python: str, folder: str, count: int, repeat: int) -> Callable[[], float]:
    """Make ``count`` Metaflow runs in ``folder``; return a function timing one round of
    ``repeat`` listings in a Metaflow interpreter (their median, in seconds)."""
    (Path(folder) / "flow.py").write_text(_METAFLOW_FLOW)
    env = dict(os.environ, USERNAME="bench", METAFLOW_DEFAULT_METADATA="local")
    env.pop("PYTHONPATH", None)

    def run(*argv: str) -> str:
        done = subprocess.run(
            [python, *argv], cwd=folder, env=env, capture_output=True, text=True, check=True
        )
        return done.stdout

    run("flow.py", "run")
    run("-c", _METAFLOW_COPY, str(count))
    return lambda: float(run("-c", _METAFLOW_LISTING, str(count), str(repeat)).split()[-1])


def compare_listing(count: int, repeat: int, rounds: int, mf_python: str | None) -> None:
    """Print flowkit's and Metaflow's time to list ``count`` runs in-process.

    The two are timed in alternating rounds (``repeat`` listings each) so that load from other
    processes on the machine falls on both alike; the figure is the median over rounds.
    """
    python = metaflow_python(mf_python)
    with tempfile.TemporaryDirectory(prefix="bench-listing-") as tmp:
        flowkit_listing = flowkit_lister(str(Path(tmp) / "ds"), count)
        mf_folder = Path(tmp) / "metaflow"
        mf_folder.mkdir()
        metaflow_round = metaflow_lister(python, str(mf_folder), count, repeat) if python else None
        ours, theirs = [], []
        for _ in range(rounds):
            ours.append(median_time(flowkit_listing, repeat))
            if metaflow_round is not None:
                theirs.append(metaflow_round())
    print(f"Listing {count} runs in-process ({rounds} rounds of {repeat}, median):")
    print(f"  flowkit   list(Flow(name).runs())  {statistics.median(ours) * 1000:7.2f} ms")
    if theirs:
        print(f"  Metaflow  list(Flow(name).runs())  {statistics.median(theirs) * 1000:7.2f} ms")
        ratios = sorted(o / t for o, t in zip(ours, theirs, strict=True))
        print(f"  flowkit / Metaflow per round: {', '.join(f'{r:.2f}' for r in ratios)}")
    else:
        print("  Metaflow  not installed; the issue's reference for 200 runs: 3.5-3.9 ms")
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--check", action="store_true", help="exit 1 if latest_run > 0.1 s")
    parser.add_argument("--listing-runs", type=int, default=200)
    parser.add_argument("--listing-repeat", type=int, default=30)
    parser.add_argument("--listing-rounds", type=int, default=5)
    parser.add_argument("--metaflow-python", help="an interpreter that can import metaflow")
    parser.add_argument("--listing-only", action="store_true", help="only the listing figures")
    args = parser.parse_args()

    compare_listing(
        args.listing_runs, args.listing_repeat, args.listing_rounds, args.metaflow_python
    )
    if args.listing_only:
        return 0
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
