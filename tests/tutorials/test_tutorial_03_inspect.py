"""Episode 03: the flows run, a new flow reads the old one's results, and the notebook's code
cells execute in order in a fresh interpreter, showing what the episode promises."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

EPISODE = Path(__file__).resolve().parents[2] / "tutorials" / "03-inspect"

# Runs the cells like a notebook kernel: in order, in one namespace, showing the value of a
# cell's last expression. Each cell's output starts with a marker line.
_KERNEL = """
import ast, json, sys
cells = [c for c in json.load(open(sys.argv[1]))["cells"] if c["cell_type"] == "code"]
scope = {"__name__": "__main__"}
for number, cell in enumerate(cells):
    print(f"### cell {number}")
    tree = ast.parse("".join(cell["source"]))
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, f"<cell {number}>", "exec"), scope)
    if last is not None:
        value = eval(compile(ast.Expression(last.value), f"<cell {number}>", "eval"), scope)
        if value is not None:
            print(repr(value))
"""


def _cells_output(notebook: Path, env: dict[str, str], cwd: Path) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", _KERNEL, str(notebook)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.split("### cell ")[1:]


def test_notebook_is_valid_nbformat_4() -> None:
    notebook = json.loads((EPISODE / "inspect.ipynb").read_text())
    assert notebook["nbformat"] == 4
    for cell in notebook["cells"]:
        assert cell["cell_type"] in ("markdown", "code") and isinstance(cell["source"], list)
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


def test_tutorial_03_inspect(run_flow) -> None:
    tune = EPISODE / "tune.py"
    first = run_flow(tune, "run")
    assert first.returncode == 0, first.output
    second = run_flow(tune, "run", "--noise", "0.3", "--tag", "candidate")
    assert second.returncode == 0, second.output
    report = run_flow(EPISODE / "report.py", "run")
    assert report.returncode == 0, report.output
    assert "Report on TuneFlow/2: best alpha 1.0" in report.stdout

    out = _cells_output(EPISODE / "inspect.ipynb", run_flow.env, run_flow.cwd)
    assert len(out) == 13
    assert str(run_flow.root) in out[0]
    assert "<Flow TuneFlow: latest run 2>" in out[1]
    assert "succeeded" in out[2] and "candidate" in out[2]
    assert "TuneFlow/2 succeeded True True" in out[3]
    assert "tags: ['candidate', 'user:" in out[3] and "parameters: {'noise': 0.3}" in out[3]
    assert "{'alpha': 1.0, 'score': 0.94}" in out[4]
    assert "[(0, 0.01, 0.0198), (1, 0.1, 0.1518), (2, 1.0, 0.94), (3, 10.0, 0.0918)]" in out[5]
    assert re.search(r"TuneFlow/2/fit/\d+\s+2\s+1\.00\s+0\.9400", out[6])
    assert "TuneFlow/2/fit/" in out[7] and "index 2" in out[7]
    assert "alpha=1.0: score 0.94" in out[7] and "score (float," in out[7]
    assert "['1'] ['2']" in out[8]
    assert "<Run TuneFlow/2: succeeded" in out[9]
    assert "'tune.py'" in out[10] and "Episode 03, part 1" in out[10]
    assert "TuneFlow/2" in out[11] and "best alpha 1.0" in out[11]
    assert "['ReportFlow', 'TuneFlow']" in out[12]
