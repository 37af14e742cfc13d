"""A flow file run through a tool (``python -m cProfile flow.py run``) still finds its source.

Under such tools the flow class's module is ``__main__`` but ``__main__.__file__`` is the tool's.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from flowtests import FLOWS

LINEAR = FLOWS / "valid" / "linear.py"


@pytest.mark.parametrize(
    "tool",
    [
        ["-m", "cProfile", "-o", "{tmp}/profile.out"],
        ["-m", "pdb"],  # stdin gets "c" (continue) for each stop
    ],
    ids=["cProfile", "pdb"],
)
@pytest.mark.parametrize("launcher", ["fork", "spawn"])
def test_run_under_a_tool(run_flow, tmp_path, tool, launcher):
    args = [a.replace("{tmp}", str(tmp_path)) for a in tool]
    proc = subprocess.run(
        [sys.executable, *args, str(LINEAR), "run", "--launcher", launcher],
        cwd=run_flow.cwd,
        env=run_flow.env,
        input="c\n" if "pdb" in tool else None,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = proc.stdout + proc.stderr
    assert "cannot read the source" not in output
    assert "Run LinearFlow/1 succeeded" in output, output
    assert run_flow.store("LinearFlow").run_record("1").status == "succeeded"


@pytest.mark.parametrize(
    "tool", [["-m", "cProfile", "-o", "{tmp}/p"], ["-m", "trace", "--listfuncs"]], ids=str
)
def test_show_under_a_tool_names_the_flow_file(run_flow, tmp_path, tool):
    # tracing a whole run is slow; show reads the same source as run does
    args = [a.replace("{tmp}", str(tmp_path)) for a in tool]
    proc = subprocess.run(
        [sys.executable, *args, str(LINEAR), "show"],
        cwd=run_flow.cwd,
        env=run_flow.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    first_line = proc.stdout.splitlines()[0]
    assert first_line.startswith("LinearFlow  (") and first_line.endswith("linear.py)"), first_line
