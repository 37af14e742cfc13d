"""How fast a local ``@parallel`` gang starts and its nodes find each other.

    python benchmarks/bench_parallel.py [--nodes 2 4 8] [--repeat 3] [--launcher fork|spawn]

For each gang size: the wall clock of ``python flows/fk_gang.py run`` (start, gang, join, end),
the *start spread* (last node's step start minus the first's: how "together" the gang starts)
and the *rendezvous* (from the last node's start until every node has met node 0 over TCP).
Medians over ``--repeat`` runs, each in a fresh temporary datastore. Metaflow's column is added
when Metaflow is importable (its local @parallel, the same flow with the import line changed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOW = Path(__file__).parent / "flows" / "fk_gang.py"


def _run(flow: Path, nodes: int, launcher: str, framework: str) -> tuple[float, float, float]:
    work = Path(tempfile.mkdtemp(prefix="bench-gang-"))
    try:
        env = dict(os.environ, FLOWKIT_DATASTORE_ROOT=str(work / "ds"), METAFLOW_HOME=str(work))
        args = [sys.executable, str(flow), "run", "--nodes", str(nodes)]
        if framework == "flowkit":
            args += ["--launcher", launcher]
        began = time.perf_counter()
        done = subprocess.run(args, cwd=work, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - began
        if done.returncode:
            sys.exit(f"{framework} run failed:\n{done.stdout}{done.stderr}")
        started, met = _timestamps(framework, work)
        return wall, max(started) - min(started), max(met) - max(started)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _timestamps(framework: str, work: Path) -> tuple[list[float], list[float]]:
    code = (
        f"from {framework} import Flow, namespace; namespace(None); "
        "d = Flow('GangBenchFlow').latest_run['join'].task.data; print(d.started, d.met)"
    )
    if framework == "flowkit":
        root = str(work / "ds")
        code = f"from flowkit import set_datastore_root; set_datastore_root({root!r}); {code}"
    env = dict(os.environ, METAFLOW_HOME=str(work))
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True, check=True
    ).stdout
    started, _, met = out.strip().partition("] [")
    return [float(x) for x in started.strip("[").split(",")], [
        float(x) for x in met.strip("]").split(",")
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--launcher", choices=["fork", "spawn"], default="fork")
    args = parser.parse_args()
    frameworks = ["flowkit"]
    work = Path(tempfile.mkdtemp(prefix="bench-gang-flows-"))
    flows = {"flowkit": FLOW}
    try:
        import metaflow  # noqa: F401

        frameworks.append("metaflow")
        flows["metaflow"] = work / "mf_gang.py"
        flows["metaflow"].write_text(
            FLOW.read_text().replace("from flowkit import", "from metaflow import")
        )
    except ImportError:
        print("(Metaflow is not installed: flowkit only)")
    try:
        header = f"{'framework':10} {'nodes':>5} {'wall s':>8} {'start spread ms':>16}"
        print(f"{header} {'rendezvous ms':>14}")
        for nodes in args.nodes:
            for framework in frameworks:
                samples = [
                    _run(flows[framework], nodes, args.launcher, framework)
                    for _ in range(args.repeat)
                ]
                wall, spread, meet = (statistics.median(s) for s in zip(*samples, strict=True))
                print(
                    f"{framework:10} {nodes:>5} {wall:>8.2f} {spread * 1000:>16.1f} "
                    f"{meet * 1000:>14.1f}"
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
