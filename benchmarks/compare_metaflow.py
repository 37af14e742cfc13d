"""Run every DAG shape of ``tests/flows/shapes/`` with flowkit and with Metaflow, and compare.

For each shape the script makes two copies of the flow file (and of its helper ``_probe.py``) in
a temporary folder: one unchanged, one where ``from flowkit import`` becomes
``from metaflow import`` and nothing else. Each copy is run the way users run flows
(``python flow.py run``) against its own throw-away datastore, then a small reader script is run
in the same interpreter, which opens the latest run through that framework's own client
(``Flow(name).latest_run``) and prints, as JSON:

- the number of tasks of every step;
- for every task, its ``index`` and every user artifact (names not starting with ``_``, except
  ``name``), so values the shapes compute from ``foreach_stack()`` are compared too;
- the end step's ``result`` artifact.

The two JSON documents must be equal. The table shows, per shape, the tasks per step and the
end ``result`` of each framework, whether they match, and the wall clock of each run.

Lists are compared in order, except for the shapes listed in ``ORDER_FREE`` (with the reason):
there Metaflow itself does not fix the order of a join's inputs, and lists are compared as
multisets; the order difference is still printed.

Metaflow runs offline: local metadata and datastore under the temporary folder, an empty
``METAFLOW_HOME`` (no profile can point it at a service), ``USERNAME=tester``, ``--no-pylint``,
and its interpreter's folder first on ``PATH`` (Metaflow's local ``@parallel`` starts its worker
nodes with a bare ``python``).

Usage::

    python benchmarks/compare_metaflow.py
    python benchmarks/compare_metaflow.py --metaflow-python /path/to/venv/bin/python --repeat 3
    python benchmarks/compare_metaflow.py --only recursive_switch parallel

Exit codes: 0 when every shape gives the same results; 1 when one differs or a framework
rejects it (its output is shown); 2 when the Metaflow interpreter cannot import metaflow.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHAPES = REPO / "tests" / "flows" / "shapes"
FLOWKIT_IMPORT = "from flowkit import"
METAFLOW_IMPORT = "from metaflow import"

# (shape file stem, flow class name): the DAG shapes Metaflow's test/core exercises, and the
# simpler ones flowkit's tests share with them.
SHAPES_TO_RUN = [
    ("linear", "LinearFlow"),
    ("branch", "BranchFlow"),
    ("foreach", "ForeachFlow"),
    ("nested_foreach", "NestedForeachFlow"),
    ("switch", "SwitchFlow"),
    ("switch_in_foreach", "SwitchInForeachFlow"),
    ("nested_foreach_strings", "NestedStringForeachFlow"),
    ("recursive_switch", "RecursiveSwitchFlow"),
    ("recursive_switch_inside_foreach", "RecursiveForeachFlow"),
    ("parallel", "ParallelFlow"),
]

# Shapes whose join input order Metaflow does not fix, with the reason; their lists are compared
# as multisets (sorted). Metaflow 2.19 builds a foreach join's inputs parent step by parent step,
# iterating a *set* of step names, so with two parents (handle_a, handle_b) the order follows
# Python's string hash randomisation: ["A:a1", "A:a3", "B:b2"] or ["B:b2", "A:a1", "A:a3"]
# depending on PYTHONHASHSEED. flowkit gives the inputs in foreach index order.
ORDER_FREE = {
    "switch_in_foreach": "Metaflow orders a multi-parent foreach join's inputs by set iteration",
}

# Run in the framework's interpreter: argv = [module, flow name]. Same code for both frameworks,
# since flowkit's client mirrors Metaflow's (namespace, Flow, latest_run, steps, tasks, artifacts).
READER = r"""
import importlib, json, sys
client = importlib.import_module(sys.argv[1])
client.namespace(None)
run = client.Flow(sys.argv[2]).latest_run
steps = {}
for step in run:
    records = []
    for task in step:
        data = {a.id: a.data for a in task if not a.id.startswith("_") and a.id != "name"}
        records.append(json.dumps({"index": task.index, "artifacts": data}, sort_keys=True,
                                  default=repr))
    steps[step.id] = {"tasks": len(records), "records": sorted(records)}
result = run["end"].task.data.result
print("READER-JSON " + json.dumps({"successful": run.successful, "steps": steps,
                                   "result": result}, sort_keys=True, default=repr))
"""


class Framework:
    """How one framework's copy of a shape is written, run and read."""

    def __init__(self, name: str, python: str) -> None:
        self.name = name
        self.python = python

    def write_copy(self, folder: Path, stem: str) -> Path:
        """Copy the shape (and ``_probe.py``) into ``folder``, rewriting the import line."""
        folder.mkdir(parents=True, exist_ok=True)
        for source in (SHAPES / "_probe.py", SHAPES / f"{stem}.py"):
            text = source.read_text()
            if self.name == "metaflow":
                if FLOWKIT_IMPORT not in text:
                    raise SystemExit(f"{source}: no `{FLOWKIT_IMPORT}` line to rewrite")
                text = text.replace(FLOWKIT_IMPORT, METAFLOW_IMPORT)
            (folder / source.name).write_text(text)
        return folder / f"{stem}.py"

    def env(self, scratch: Path) -> dict[str, str]:
        """An environment whose datastore (and, for Metaflow, metadata and home) is ``scratch``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWKIT_", "METAFLOW_"))}
        env.pop("PYTHONPATH", None)
        if self.name == "flowkit":
            env["PYTHONPATH"] = str(REPO)  # this checkout's flowkit, not an installed one
            env["FLOWKIT_DATASTORE_ROOT"] = str(scratch / "datastore")
            env["FLOWKIT_CONFIG"] = str(scratch / "no-config.json")
            env["FLOWKIT_USER"] = "tester"
        else:
            home = scratch / "home"
            home.mkdir(exist_ok=True)
            env.update(
                HOME=str(home),
                METAFLOW_HOME=str(home),
                METAFLOW_DEFAULT_DATASTORE="local",
                METAFLOW_DEFAULT_METADATA="local",
                METAFLOW_DEFAULT_ENVIRONMENT="local",
                METAFLOW_DATASTORE_SYSROOT_LOCAL=str(scratch),
                # Metaflow's local @parallel starts its worker nodes with a bare `python`, found
                # on PATH: make that the interpreter Metaflow is installed in.
                PATH=os.pathsep.join([str(Path(self.python).parent), env.get("PATH", "")]),
            )
        env["USERNAME"] = "tester"
        return env

    def run_command(self, flow_file: Path) -> list[str]:
        """``python flow.py run`` (Metaflow: without linting, which is not what is compared)."""
        if self.name == "metaflow":
            return [self.python, str(flow_file), "--no-pylint", "run"]
        return [self.python, str(flow_file), "run"]


class Outcome:
    """What one framework did with one shape."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.error: str | None = None
        self.read: dict | None = None

    @property
    def wall(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None

    def summary(self) -> str:
        """Tasks per step and the end result, or the error's first line."""
        if self.error is not None or self.read is None:
            first = (self.error or "no result").strip().splitlines() or ["failed"]
            return f"FAILED: {first[-1][:80]}"
        counts = " ".join(f"{s}={v['tasks']}" for s, v in sorted(self.read["steps"].items()))
        result = json.dumps(self.read["result"], sort_keys=True)
        if len(result) > 100:  # long results: a prefix and a digest, enough to tell them apart
            digest = hashlib.sha1(result.encode()).hexdigest()[:8]
            result = f"{result[:60]}... ({len(result)} chars, sha1 {digest})"
        return f"{counts}; result={result}"


def run_shape(
    fw: Framework, stem: str, flow_name: str, scratch_root: Path, repeat: int, timeout: float
) -> Outcome:
    """Run one shape ``repeat`` times with one framework, then read its latest run."""
    outcome = Outcome()
    scratch = Path(tempfile.mkdtemp(prefix=f"{fw.name}-{stem}-", dir=scratch_root))
    flow_file = fw.write_copy(scratch / "flow", stem)
    env = fw.env(scratch)
    for _ in range(repeat):
        started = time.perf_counter()
        proc = subprocess.run(
            fw.run_command(flow_file),
            cwd=scratch,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        elapsed = time.perf_counter() - started
        if proc.returncode != 0:
            outcome.error = f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
            return outcome
        outcome.seconds.append(elapsed)
    proc = subprocess.run(
        [fw.python, "-c", READER, fw.name, flow_name],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("READER-JSON ")]
    if proc.returncode != 0 or not lines:
        outcome.error = f"reader failed (exit {proc.returncode})\n{proc.stdout}\n{proc.stderr}"
        return outcome
    outcome.read = json.loads(lines[-1].removeprefix("READER-JSON "))
    return outcome


def _sorted_lists(value: object) -> object:
    """``value`` with every list sorted (by JSON text) at every depth."""
    if isinstance(value, dict):
        return {k: _sorted_lists(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_sorted_lists(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return value


def order_free(reading: dict) -> dict:
    """A reading with list order removed, for the shapes of ``ORDER_FREE``."""
    steps = {
        name: {
            "tasks": step["tasks"],
            "records": sorted(
                json.dumps(_sorted_lists(json.loads(r)), sort_keys=True) for r in step["records"]
            ),
        }
        for name, step in reading["steps"].items()
    }
    return {**reading, "steps": steps, "result": _sorted_lists(reading["result"])}


def differences(a: dict, b: dict) -> list[str]:
    """Human-readable differences between flowkit's (``a``) and Metaflow's (``b``) readings."""
    out: list[str] = []
    if a["result"] != b["result"]:
        out.append(f"end result: flowkit {a['result']} / metaflow {b['result']}")
    for step in sorted(set(a["steps"]) | set(b["steps"])):
        sa, sb = a["steps"].get(step), b["steps"].get(step)
        if sa is None or sb is None:
            out.append(f"step {step}: only in {'metaflow' if sa is None else 'flowkit'}")
        elif sa["tasks"] != sb["tasks"]:
            out.append(f"step {step}: {sa['tasks']} tasks in flowkit, {sb['tasks']} in metaflow")
        elif sa["records"] != sb["records"]:
            only_a = sorted(set(sa["records"]) - set(sb["records"]))
            only_b = sorted(set(sb["records"]) - set(sa["records"]))
            out.append(f"step {step}: task artifacts differ; flowkit {only_a} / metaflow {only_b}")
    if a["successful"] != b["successful"]:
        out.append(f"run successful: flowkit {a['successful']} / metaflow {b['successful']}")
    return out


def _fmt(seconds: float | None) -> str:
    return f"{seconds:.2f} s" if seconds is not None else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--metaflow-python",
        default=os.environ.get("METAFLOW_PYTHON", "python"),
        help="interpreter with metaflow installed (default: $METAFLOW_PYTHON or `python`)",
    )
    parser.add_argument(
        "--flowkit-python", default=sys.executable, help="interpreter for flowkit (default: this)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per shape (median)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per command")
    parser.add_argument("--only", nargs="*", help="shape names to run (default: all)")
    args = parser.parse_args()

    check = subprocess.run(
        [args.metaflow_python, "-c", "import metaflow; print(metaflow.__version__)"],
        capture_output=True,
        text=True,
    )
    if check.returncode != 0:
        print(f"{args.metaflow_python} cannot import metaflow:\n{check.stderr}", file=sys.stderr)
        return 2
    print(f"Metaflow {check.stdout.strip()} ({args.metaflow_python}); flowkit from {REPO}")

    flowkit = Framework("flowkit", args.flowkit_python)
    metaflow = Framework("metaflow", args.metaflow_python)
    shapes = [s for s in SHAPES_TO_RUN if not args.only or s[0] in args.only]
    rows = []
    failed = False
    scratch_root = Path(tempfile.mkdtemp(prefix="flowkit-vs-metaflow-"))
    try:
        for stem, flow_name in shapes:
            fk = run_shape(flowkit, stem, flow_name, scratch_root, args.repeat, args.timeout)
            mf = run_shape(metaflow, stem, flow_name, scratch_root, args.repeat, args.timeout)
            note = ""
            if fk.read is not None and mf.read is not None:
                diffs = differences(fk.read, mf.read)
                if diffs and stem in ORDER_FREE:
                    for diff in diffs:
                        print(f"--- {stem} (order only, not counted): {diff}")
                    diffs = differences(order_free(fk.read), order_free(mf.read))
                    note = " (as multisets: " + ORDER_FREE[stem] + ")"
            else:
                diffs = ["a framework failed"]
            for name, outcome in (("flowkit", fk), ("metaflow", mf)):
                if outcome.error is not None:
                    print(f"--- {stem}: {name} failed ---\n{outcome.error.strip()}\n")
            for diff in diffs:
                print(f"--- {stem}: {diff}")
            failed = failed or bool(diffs)
            rows.append((stem, fk, mf, ("yes" + note) if not diffs else "NO"))
            print(
                f"{stem}: {'same' if not diffs else 'DIFFERENT'} "
                f"(flowkit {_fmt(fk.wall)}, metaflow {_fmt(mf.wall)})",
                file=sys.stderr,
            )
    finally:
        shutil.rmtree(scratch_root, ignore_errors=True)

    print("\n| shape | flowkit | metaflow | same? |")
    print("|---|---|---|---|")
    for stem, fk, mf, same in rows:
        print(f"| {stem} | {fk.summary()} | {mf.summary()} | {same} |")
    print(f"\nWall clock of `python flow.py run` (median of {args.repeat}):\n")
    print("| shape | flowkit | metaflow | ratio (mf/fk) |")
    print("|---|---|---|---|")
    for stem, fk, mf, _ in rows:
        ratio = f"{mf.wall / fk.wall:.1f}x" if fk.wall and mf.wall else "-"
        print(f"| {stem} | {_fmt(fk.wall)} | {_fmt(mf.wall)} | {ratio} |")
    fk_total = sum(fk.wall or 0 for _, fk, _, _ in rows)
    mf_total = sum(mf.wall or 0 for _, _, mf, _ in rows)
    print(f"| total | {_fmt(fk_total)} | {_fmt(mf_total)} | - |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
