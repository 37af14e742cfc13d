"""``flowkit registry reproduce NAME@ALIAS``: the producing run re-run from its snapshot, the
new artifact's hash compared with the version's, and nothing registered by the re-run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from flowtests import FlowRunner

from flowkit.datastore import ByteStorage
from flowkit.modelreg import Registry

FLOWS = Path(__file__).parent / "flows"
CLI = [sys.executable, "-c", "from flowkit.cli.main import main; main()", "registry"]

NOISY = """
import random
from flowkit import FlowSpec, current, step

class NoisyRegFlow(FlowSpec):
    @step
    def start(self):
        self.data = [1, 2, 3]
        self.next(self.train)

    @step
    def train(self):
        self.model = random.random()
        current.registry.register("noisy", self.model)
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    NoisyRegFlow()
"""


def _cli(run_flow: FlowRunner, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], cwd=run_flow.cwd, env=run_flow.env, capture_output=True, text=True
    )


def test_a_deterministic_version_reproduces_and_registers_nothing(run_flow: FlowRunner) -> None:
    assert run_flow(FLOWS / "registry_train.py", "run", "--alpha", "2").returncode == 0
    assert _cli(run_flow, "promote", "churn", "v1", "--alias", "champion").returncode == 0
    done = _cli(run_flow, "reproduce", "churn@champion", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["matches"] is True and report["version"] == "churn@v1"
    registry = Registry(ByteStorage(str(run_flow.root)))
    assert [v.number for v in registry.versions("churn")] == [1]  # the re-run added none
    assert report["new_hash"] == registry.resolve("churn@v1").sha


def test_a_nondeterministic_version_names_the_diverging_step(
    run_flow: FlowRunner, tmp_path: Path
) -> None:
    flow = tmp_path / "noisy_reg.py"
    flow.write_text(NOISY)
    assert run_flow(flow, "run").returncode == 0
    done = _cli(run_flow, "reproduce", "noisy@latest")
    assert done.returncode == 1, done.stderr
    assert "noisy@v1" in done.stdout and "train" in done.stdout


def test_an_unknown_version_is_an_error_not_a_mismatch(run_flow: FlowRunner) -> None:
    assert run_flow(FLOWS / "registry_train.py", "run").returncode == 0
    done = _cli(run_flow, "reproduce", "churn@v9")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "v9" in done.stderr
