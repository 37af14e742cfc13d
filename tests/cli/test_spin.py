"""``python flow.py spin STEP``: one step again, with the edited code, against a past task's
inputs; nothing of it reaches the real datastore unless persisted, and then only the spin area."""

from __future__ import annotations

from pathlib import Path

import pytest
from flowtests import FlowResult, FlowRunner

from flowkit.client import ClientContext, inspect_spin, set_datastore_root
from flowkit.datastore.spinarea import spin_root

FLOW = """\
import os

from flowkit import FlowSpec, Parameter, environment, step


def mark(name):
    with open(os.environ["SPIN_MARKS"], "a") as out:
        out.write(name + "\\n")


class SpinFlow(FlowSpec):
    scale = Parameter("scale", default=2)

    @step
    def start(self):
        mark("start")
        if os.environ.get("SPIN_FAIL_START"):
            raise RuntimeError("start fails on purpose")
        self.items = [1, 2, 3]
        self.next(self.square, foreach="items")

    @step
    def square(self):
        mark("square")
        self.value = self.input * self.input * self.scale  # EDIT-SQUARE
        self.next(self.gather)

    @step
    def gather(self, inputs):
        mark("gather")
        self.total = sum(i.value for i in inputs)  # EDIT-GATHER
        self.next(self.finish)

    @environment(vars={"SPIN_ENV": "on"})
    @step
    def finish(self):
        mark("finish")
        if os.environ.get("SPIN_FAIL_FINISH"):
            raise RuntimeError("finish fails on purpose")
        self.env_seen = os.environ.get("SPIN_ENV")
        self.report = f"total={self.total}"  # EDIT-FINISH
        self.next(self.end)

    @step
    def end(self):
        mark("end")


if __name__ == "__main__":
    SpinFlow()
"""


class SpinCase:
    """A copy of the flow in the test's folder, run and spun through its real CLI."""

    def __init__(self, tmp_path: Path, run_flow: FlowRunner) -> None:
        self.path = tmp_path / "spinflow.py"
        self.path.write_text(FLOW, encoding="utf-8")
        self.marks = tmp_path / "marks.txt"
        self.run_flow = run_flow
        self.spin_area = Path(spin_root(tmp_path))

    def __call__(self, *args: str, **env: str) -> FlowResult:
        self.marks.write_text("", encoding="utf-8")
        return self.run_flow(self.path, *args, SPIN_MARKS=str(self.marks), **env)

    def edit(self, marker: str, new_line: str) -> None:
        lines = self.path.read_text(encoding="utf-8").splitlines()
        (i,) = [n for n, line in enumerate(lines) if marker in line]
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        lines[i] = indent + new_line
        self.path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def ran(self) -> list[str]:
        return self.marks.read_text(encoding="utf-8").split()

    def store(self):
        return self.run_flow.store("SpinFlow")

    def task_of(self, run_id: str, step: str, index: int | None = None) -> str:
        store = self.store()
        for task_id in store.tasks(run_id, step):
            frames = store.read_manifest(run_id, step, task_id).foreach_stack
            if index is None or frames[-1].index == index:
                return f"SpinFlow/{run_id}/{step}/{task_id}"
        raise AssertionError(f"no task of {step} with index {index}")


@pytest.fixture
def flow(tmp_path: Path, run_flow: FlowRunner) -> SpinCase:
    return SpinCase(tmp_path, run_flow)


def _run(flow: SpinCase, *args: str) -> None:
    result = flow("run", *args)
    assert result.returncode == 0, result.output


def test_spin_runs_only_the_edited_step_with_the_past_inputs(flow: SpinCase) -> None:
    _run(flow, "--scale", "3")  # total = (1 + 4 + 9) * 3
    flow.edit("EDIT-FINISH", 'self.report = f"sum is {self.total}"')
    result = flow("spin", "finish")
    assert result.returncode == 0, result.output
    assert flow.ran() == ["finish"]  # no other step ran
    assert "report = 'sum is 42'" in result.stdout  # the edit, on run 1's inputs
    assert "env_seen = 'on'" in result.stdout  # the step's own decorators apply
    assert "with the inputs of SpinFlow/1/finish/" in result.stdout
    store = flow.store()
    assert store.run_ids() == ["1"]  # no new run in the real datastore
    real = store.read_manifest("1", "finish", flow.task_of("1", "finish").split("/")[-1])
    assert store.load_artifact(real.artifacts["report"]) == "total=42"  # the past is untouched
    assert not flow.spin_area.exists()  # nothing kept without --persist


def test_a_step_that_failed_in_the_latest_run_is_spun_with_its_inputs(flow: SpinCase) -> None:
    _run(flow, "--scale", "1")
    failed = flow("run", "--scale", "3", SPIN_FAIL_FINISH="1")
    assert failed.returncode == 1
    result = flow("spin", "finish")  # the fix: here, no longer failing on purpose
    assert result.returncode == 0, result.output
    assert "with the inputs of SpinFlow/2/finish/" in result.stdout
    assert "report = 'total=42'" in result.stdout
    assert flow.ran() == ["finish"]


def test_pathspec_picks_the_task_of_an_older_run(flow: SpinCase) -> None:
    _run(flow, "--scale", "1")  # total 14
    _run(flow, "--scale", "3")  # total 42
    latest = flow("spin", "finish")
    assert "report = 'total=42'" in latest.stdout, latest.output
    older = flow("spin", "finish", "--pathspec", flow.task_of("1", "finish"))
    assert older.returncode == 0, older.output
    assert "report = 'total=14'" in older.stdout  # run 1's inputs and parameters
    assert flow.ran() == ["finish"]


def test_a_join_gets_every_input_it_had(flow: SpinCase) -> None:
    _run(flow, "--scale", "3")
    flow.edit("EDIT-GATHER", "self.total = sum(i.value for i in inputs) + 1000 * len(inputs)")
    result = flow("spin", "gather")
    assert result.returncode == 0, result.output
    assert "total = 3042" in result.stdout
    assert "next: finish" in result.stdout
    assert flow.ran() == ["gather"]


def test_a_foreach_child_gets_its_split_element(flow: SpinCase) -> None:
    _run(flow, "--scale", "3")
    flow.edit("EDIT-SQUARE", "self.value = self.input * 10 * self.scale")
    first = flow("spin", "square")  # the first split by default
    assert first.returncode == 0, first.output
    assert "value = 30" in first.stdout
    assert f"inputs of {flow.task_of('1', 'square', 0)} " in first.stdout
    third = flow("spin", "square", "--pathspec", flow.task_of("1", "square", 2))
    assert "value = 90" in third.stdout, third.output
    assert flow.ran() == ["square"]


def test_persist_keeps_the_outputs_for_the_client_apart_from_real_runs(
    flow: SpinCase, tmp_path: Path
) -> None:
    _run(flow, "--scale", "3")
    flow.edit("EDIT-FINISH", 'self.report = f"sum is {self.total}"')
    result = flow("spin", "finish", "--persist")
    assert result.returncode == 0, result.output
    assert "inspect_spin" in result.stdout
    spins = ClientContext(str(flow.spin_area)).flow("SpinFlow")
    task = spins.latest_run["finish"].task
    assert task["report"].data == "sum is 42"
    assert task["total"].data == 42  # inherited: readable from the spin area alone
    assert task.data.scale == 3  # the past run's parameter
    assert flow.store().run_ids() == ["1"]  # the real datastore has only the real run
    real = ClientContext(str(flow.run_flow.root)).flow("SpinFlow")
    assert [r.id for r in real.runs()] == ["1"]
    _run(flow)  # a later run's code snapshot leaves the spin area out
    code = ClientContext(str(flow.run_flow.root)).run("SpinFlow/2").code
    assert code is not None and "spinflow.py" in code.files
    assert not [name for name in code.files if ".flowkit_spin" in name]
    # inspect_spin points the global client at the folder's spin area
    try:
        assert inspect_spin(tmp_path).endswith(".flowkit_spin")
        from flowkit import Flow

        assert Flow("SpinFlow").latest_run["finish"].task["report"].data == "sum is 42"
    finally:
        set_datastore_root(None)


def test_artifacts_module_overrides_inputs(flow: SpinCase, tmp_path: Path) -> None:
    _run(flow)
    module = tmp_path / "inputs.py"
    module.write_text("ARTIFACTS = {'total': 5}\n", encoding="utf-8")
    result = flow("spin", "finish", "--artifacts-module", str(module))
    assert result.returncode == 0, result.output
    assert "report = 'total=5'" in result.stdout
    bad = tmp_path / "bad.py"
    bad.write_text("NOTHING = 1\n", encoding="utf-8")
    refused = flow("spin", "finish", "--artifacts-module", str(bad))
    assert refused.returncode == 1
    assert "defines no ARTIFACTS dict" in refused.stderr


def _one_paragraph(result: FlowResult) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3, result.stderr
    return result.stderr


def test_errors_are_one_paragraph(flow: SpinCase) -> None:
    assert "has no past run" in _one_paragraph(flow("spin", "finish"))
    assert flow("run", SPIN_FAIL_START="1").returncode != 0
    never = _one_paragraph(flow("spin", "square"))
    assert "no run of SpinFlow ran step 'square'" in never
    _run(flow)
    typo = _one_paragraph(flow("spin", "finsh"))
    assert 'Did you mean "finish"' in typo
    wrong = _one_paragraph(flow("spin", "finish", "--pathspec", flow.task_of("2", "gather")))
    assert "is a task of step 'gather'" in wrong


def test_a_failing_step_shows_its_traceback_and_exits_non_zero(flow: SpinCase) -> None:
    _run(flow)
    flow.edit("EDIT-FINISH", "raise ValueError('broken on purpose')")
    result = flow("spin", "finish")
    assert result.returncode == 1
    assert "ValueError: broken on purpose" in result.stderr
    assert "failed when spun with the inputs of SpinFlow/1/finish/" in result.stderr
    assert flow.ran() == ["finish"]
