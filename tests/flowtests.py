"""Shared test helpers: run flows the way users do, in a subprocess, against a temp datastore.

Imported by tests as ``from flowtests import ...`` (a plain module, so its name cannot collide
with the per-folder ``conftest.py`` files).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

FLOWS = Path(__file__).parent / "flows"
SHAPES = FLOWS / "shapes"


@dataclass
class FlowResult:
    """Outcome of ``python flow.py ...``."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class FlowRunner:
    """Runs flow files in subprocesses with a private datastore root."""

    def __init__(self, root: Path, cwd: Path) -> None:
        self.root = root
        self.cwd = cwd
        self.env = dict(os.environ, FLOWKIT_DATASTORE_ROOT=str(root), PYTHONUNBUFFERED="1")

    def __call__(
        self, flow: Path | str, *args: str, timeout: float = 120, **env: str
    ) -> FlowResult:
        proc = subprocess.run(
            [sys.executable, str(flow), *args],
            cwd=self.cwd,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return FlowResult(proc.returncode, proc.stdout, proc.stderr)

    def popen(self, flow: Path | str, *args: str, **env: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, str(flow), *args],
            cwd=self.cwd,
            env={**self.env, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def store(self, flow_name: str):
        from flowkit.datastore import ByteStorage, FlowDatastore

        return FlowDatastore(ByteStorage(str(self.root)), flow_name)


@dataclass(frozen=True)
class Shape:
    """One DAG shape: its flow file, flow name, the ``result`` its end step stores, task count,
    and a task to make fail (``FLOWKIT_TEST_FAIL``, see ``flows/shapes/_probe.py``)."""

    file: Path
    flow: str
    result: dict
    tasks: int
    fail_at: str = "end"


SHAPE_CASES = {
    "linear": Shape(
        SHAPES / "linear.py",
        "LinearFlow",
        {"x": 4, "seen": [2, 4], "label": "x=4", "alpha": 2},
        5,
        "b",
    ),
    "branch": Shape(
        SHAPES / "branch.py",
        "BranchFlow",
        {
            "xs": [11, 12],
            "left": 11,
            "right": 12,
            "shared": "same everywhere",
            "only_left": "L",
            "has_x": False,
        },
        5,
        "right",
    ),
    "foreach": Shape(
        SHAPES / "foreach.py",
        "ForeachFlow",
        {"pairs": [(0, 0), (1, 10), (2, 20), (3, 30)], "items": [0, 10, 20, 30]},
        7,
        "work:2",
    ),
    "nested_foreach": Shape(
        SHAPES / "nested_foreach.py",
        "NestedForeachFlow",
        {"words": ["a1", "a2", "a3", "b1", "b2", "b3"]},
        13,
        "inner:0.1",
    ),
    "switch": Shape(SHAPES / "switch.py", "SwitchFlow", {"path": "fast"}, 3, "fast"),
    # Metaflow's test/core "switch_in_foreach": each split takes the branch its element picks.
    "switch_in_foreach": Shape(
        SHAPES / "switch_in_foreach.py",
        "SwitchInForeachFlow",
        {"handled": ["A:a1", "B:b2", "A:a3"]},
        9,
        "handle_b",
    ),
    # Metaflow's "nested-foreach": three levels over strings; foreach_stack() gives the values.
    "nested_foreach_strings": Shape(
        SHAPES / "nested_foreach_strings.py",
        "NestedStringForeachFlow",
        {"words": [x + y + z for x in "abc" for y in "de" for z in "fghijk"]},
        58,
        "foreach_inner:1.0.3",
    ),
    # Metaflow's test/core "recursive_switch": 4 passes of loop_step, each its own task.
    "recursive_switch": Shape(
        SHAPES / "recursive_switch.py",
        "RecursiveSwitchFlow",
        {"count": 4, "seen": [1, 2, 3, 4]},
        7,
        "exit_loop",
    ),
    # Metaflow's "recursive_switch_inside_foreach": 1, 3 and 2 passes in the three splits.
    "recursive_switch_inside_foreach": Shape(
        SHAPES / "recursive_switch_inside_foreach.py",
        "RecursiveForeachFlow",
        {"done": [(1, 1), (3, 3), (2, 2)]},
        15,
        "exit_item_loop:1",
    ),
    "parallel": Shape(
        SHAPES / "parallel.py",
        "ParallelFlow",
        {"nodes": [(0, 3, 0), (1, 3, 1), (2, 3, 2)]},
        6,
        "join",
    ),
}


def end_artifact(store, run_id: str, name: str = "result"):
    """Load an artifact of the end task of a run, straight from the datastore."""
    [task_id] = store.tasks(run_id, "end")
    manifest = store.read_manifest(run_id, "end", task_id)
    return store.load_artifact(manifest.artifacts[name])


def traced(trace_dir: Path, run_id: str) -> list[str]:
    """Names (``step-indexes``) of the tasks that really executed in a run (see ``_probe.py``)."""
    out = []
    for path in trace_dir.iterdir():
        run, step, where, _pid = path.name.split("-")
        if run == run_id:
            out.append(f"{step}-{where}")
    return sorted(out)


def record_inspection_runs(runner: FlowRunner) -> Path:
    """Fill ``runner``'s datastore with the runs the client and inspection CLI tests read.

    All started by the user ``ada`` unless said otherwise:

    - one run of every DAG shape (``flows/shapes``), each ``<Flow>/1``;
    - ``LinearFlow/2``: ``--alpha 3 --tag prod``, started by ``bob``;
    - ``CrashFlow/1``: a foreach whose split 2 raises ``ValueError: bad value 42``.

    Returns:
        The datastore root.
    """
    for case in SHAPE_CASES.values():
        result = runner(case.file, "run", FLOWKIT_USER="ada")
        assert result.returncode == 0, result.output
    linear = SHAPE_CASES["linear"].file
    result = runner(linear, "run", "--alpha", "3", "--tag", "prod", FLOWKIT_USER="bob")
    assert result.returncode == 0, result.output
    # Four workers, so all four splits start before split 2 fails, whatever the number of cores.
    crash_flow = FLOWS / "failing" / "crashes.py"
    crash = runner(crash_flow, "run", "--mode", "raise", "--max-workers", "4", FLOWKIT_USER="ada")
    assert crash.returncode == 1, crash.output
    return runner.root
