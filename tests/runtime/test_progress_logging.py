"""The runner reports through the ``flowkit.runtime`` logger: a program that runs flows decides
where the lines go, while the CLI shows them on stderr exactly as before."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.flowtests import FlowRunner

FLOW = """
import logging

from flowkit import FlowSpec, resources, step

if __name__ == "__main__":
    # A flow file that configures logging for itself must not change what the CLI prints.
    logging.basicConfig(level=logging.DEBUG, format="ROOT %(message)s")


class LogFlow(FlowSpec):
    @resources(cpu=100000)
    @step
    def start(self):
        print("hello from start")
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    LogFlow()
"""

DRIVER = """
import logging
import sys
from pathlib import Path

from flowkit.datastore.flowstore import FlowDatastore
from flowkit.datastore.storage import ByteStorage
from flowkit.decorators.resolve import resolve_step_decorators
from flowkit.graph import load_graph
from flowkit.runtime.runner import Runner

here = Path(__file__).parent
sys.path.insert(0, str(here))
from logflow import LogFlow

mode, root = sys.argv[1], sys.argv[2]
if mode == "silence":
    logging.getLogger("flowkit").setLevel(logging.CRITICAL)
else:
    fmt = "LOG %(name)s %(levelname)s %(message)s"
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format=fmt)
graph = load_graph(LogFlow)
runner = Runner(
    LogFlow,
    graph,
    FlowDatastore(ByteStorage(root), "LogFlow"),
    max_workers=1,
    flow_file=here / "logflow.py",
    decorators=resolve_step_decorators(LogFlow, graph, ()),
)
print("status", runner.run({}).status)
"""

CPU_WARNING = "flowkit: warning: step 'start' asks for 100000 CPUs; this machine has"


def _drive(tmp_path: Path, mode: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "logflow.py").write_text(textwrap.dedent(FLOW))
    (tmp_path / "driver.py").write_text(textwrap.dedent(DRIVER))
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    root = str(tmp_path / "datastore")
    return subprocess.run(
        [sys.executable, str(tmp_path / "driver.py"), mode, root],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )


def test_a_program_silences_the_runner_with_logging(tmp_path: Path) -> None:
    proc = _drive(tmp_path, "silence")
    assert proc.returncode == 0, proc.stderr
    assert "status succeeded" in proc.stdout
    assert "hello from start" in proc.stdout  # the task's own output is not the runner's log
    assert "Run LogFlow/1" not in proc.stdout + proc.stderr
    assert "asks for 100000 CPUs" not in proc.stdout + proc.stderr


def test_a_program_redirects_the_runner_with_logging(tmp_path: Path) -> None:
    proc = _drive(tmp_path, "redirect")
    assert proc.returncode == 0, proc.stderr
    logged = [line for line in proc.stdout.splitlines() if line.startswith("LOG flowkit.runtime ")]
    assert logged[0].startswith("LOG flowkit.runtime INFO Run LogFlow/1 started")
    assert logged[1].startswith(f"LOG flowkit.runtime WARNING {CPU_WARNING}")
    assert logged[-1].startswith("LOG flowkit.runtime INFO Run LogFlow/1 succeeded")
    assert "Run LogFlow/1" not in proc.stderr


def test_the_cli_prints_plain_lines_whatever_the_flow_configures(tmp_path: Path) -> None:
    (tmp_path / "logflow.py").write_text(textwrap.dedent(FLOW))
    result = FlowRunner(tmp_path / "datastore", tmp_path)(tmp_path / "logflow.py", "run")
    assert result.returncode == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Run LogFlow/1 started (datastore: ")
    assert lines[1].startswith(CPU_WARNING)
    assert lines[-1].startswith("Run LogFlow/1 succeeded: 2 tasks ran in ")
    assert "ROOT" not in result.output  # no second copy through the flow's own handler
