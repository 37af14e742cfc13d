"""``run_step``: one step of a flow, run in-process from pytest, with given inputs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import fsspec
import pytest
from flowtests import FLOWS

from flowkit import current, run_step
from flowkit.errors import FlowkitError, FlowRuntimeError, ParameterError, UnpicklableArtifact
from flowkit.steptest import load_flow_class

PIPELINE = FLOWS / "steptest" / "pipeline.py"


@pytest.fixture(scope="module")
def flow() -> type:
    return load_flow_class(PIPELINE)


def _memory_left() -> list[str]:
    return [p for p in fsspec.filesystem("memory").ls("/") if "flowkit-steptest" in str(p)]


def test_start_with_parameters(flow: type) -> None:
    result = run_step(flow, "start", params={"alpha": 3})
    assert result.artifacts == {"base": 30}
    assert result["base"] == 30
    assert result.next == ["left", "right"]
    assert result.foreach is None
    assert result.stdout == "starting with alpha 3\n"
    assert _memory_left() == []  # the in-memory datastore is discarded
    assert current.step_name is None  # and `current` is unbound again


def test_defaults_and_parameter_checks(flow: type) -> None:
    assert run_step(flow, "start").artifacts == {"base": 20}
    with pytest.raises(ParameterError, match="no parameter 'alpah' Did you mean \"alpha\""):
        run_step(flow, "start", params={"alpah": 3})
    with pytest.raises(ParameterError, match="expects int"):
        run_step(flow, "start", params={"alpha": "many"})


def test_a_linear_step_sees_only_what_it_changed(flow: type) -> None:
    result = run_step(flow, "left", inputs={"base": 5, "unrelated": [1]})
    assert result.artifacts == {"x": 6}
    assert result.next == ["join"]
    assert result.flow.unrelated == [1]  # inherited values stay readable on the flow


def test_branch_join_by_step_name_or_in_order(flow: type) -> None:
    by_name = run_step(
        flow, "join", inputs={"right": {"x": 2, "base": 0}, "left": {"x": 1, "base": 0}}
    )
    # merge_artifacts took base (the same in both branches) and left x out
    assert by_name.artifacts == {"xs": [1, 2], "from_left": 1, "base": 0}
    in_order = run_step(flow, "join", inputs=[{"x": 7, "base": 0}, {"x": 8, "base": 0}])
    assert in_order["from_left"] == 7
    with pytest.raises(FlowkitError, match="joins left, right, not 'middle'"):
        run_step(flow, "join", inputs={"middle": {"x": 1}})
    with pytest.raises(FlowkitError, match=r"2 branches .* but 1 input mappings"):
        run_step(flow, "join", inputs=[{"x": 1}])


def test_a_merge_conflict_is_raised(flow: type) -> None:
    with pytest.raises(FlowkitError, match="base"):
        run_step(flow, "join", inputs=[{"x": 1, "base": 1}, {"x": 2, "base": 2}])


def test_foreach_fan_out_gives_its_splits(flow: type) -> None:
    result = run_step(flow, "fan_out", inputs={"xs": [1, 2, 5]})
    assert result.next == ["work"]
    assert result.foreach == "items"
    assert result.splits == [3, 6, 15]


def test_foreach_child_gets_input_and_index(flow: type) -> None:
    result = run_step(flow, "work", inputs={"items": [0, 0, 9]}, input=9, index=2)
    assert result.artifacts == {"pair": (2, 9, "work")}
    assert result.next == ["gather"]


def test_foreach_join_takes_a_list(flow: type) -> None:
    result = run_step(flow, "gather", inputs=[{"pair": (0, 3)}, {"pair": (1, 6)}])
    assert result.artifacts == {"pairs": [(0, 3), (1, 6)]}
    assert result.next == ["decide"]


def test_switch_reports_the_branch_taken(flow: type) -> None:
    fast = run_step(flow, "decide")
    assert (fast.next, fast.condition) == (["fast"], "choice")
    careful = run_step(flow, "decide", params={"mode": "careful"})
    assert careful.next == ["careful"]


def test_end_has_no_transition(flow: type) -> None:
    result = run_step(flow, "end", inputs={"path": "fast", "pairs": []})
    assert result.next == []
    assert result.artifacts == {"result": {"path": "fast", "pairs": []}}


def test_the_users_exception_propagates_as_raised(flow: type, capsys) -> None:
    with pytest.raises(ValueError, match="negative item -1") as info:
        run_step(flow, "work", input=-1)
    assert info.type is ValueError  # not wrapped in a flowkit error
    assert _memory_left() == []


def test_an_artifact_that_cannot_be_stored_fails_as_in_a_run(flow: type) -> None:
    with pytest.raises(UnpicklableArtifact, match="'lock'"):
        run_step(flow, "fast", inputs={"pairs": ["unpicklable"]})


def test_dsl_rules_are_checked(tmp_path: Path) -> None:
    bad = tmp_path / "nonext.py"
    bad.write_text(
        "from flowkit import FlowSpec, Parameter, step\n"
        "class NoNext(FlowSpec):\n"
        "    skip = Parameter('skip', default=True)\n"
        "    @step\n"
        "    def start(self):\n"
        "        if self.skip:\n"
        "            return\n"
        "        self.next(self.end)\n"
        "    @step\n"
        "    def end(self):\n"
        "        pass\n"
    )
    with pytest.raises(FlowRuntimeError, match=r"finished without calling self\.next"):
        run_step(bad, "start")
    assert run_step(bad, "start", params={"skip": False}).next == ["end"]


def test_wrong_step_or_input_shapes(flow: type) -> None:
    with pytest.raises(FlowkitError, match="no step 'strat' Did you mean \"start\""):
        run_step(flow, "strat")
    with pytest.raises(FlowkitError, match="first step: it has no inputs"):
        run_step(flow, "start", inputs={"x": 1})
    with pytest.raises(FlowkitError, match="is a join"):
        run_step(flow, "gather")
    with pytest.raises(FlowkitError, match="not a join"):
        run_step(flow, "left", inputs=[{"base": 1}])


def test_from_a_user_test_file_run_by_pytest(tmp_path: Path) -> None:
    """How a user writes it: a test module next to the flow, run by pytest."""
    test_file = tmp_path / "test_train.py"
    test_file.write_text(
        "from flowkit import run_step\n"
        f"FLOW = {str(PIPELINE)!r}\n"
        "def test_work():\n"
        "    result = run_step(FLOW, 'work', input=4, index=1)\n"
        "    assert result.artifacts['pair'] == (1, 4, 'work')\n"
        "    assert result.next == ['gather']\n"
        "def test_work_fails_on_negative():\n"
        "    run_step(FLOW, 'work', input=-2)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "1 failed, 1 passed" in proc.stdout, proc.stdout + proc.stderr
    # pytest shows the user's own line and exception, not flowkit's machinery
    assert 'raise ValueError(f"negative item {self.input}")' in proc.stdout
    assert re.search(r"^E\s+ValueError: negative item -2$", proc.stdout, re.M), proc.stdout
    assert "steptest.py" not in proc.stdout  # flowkit's helper frames are hidden


def test_run_step_agrees_with_a_real_run(flow: type, run_flow) -> None:
    """The same step, given the inputs a real run gave it, sets the same artifacts."""
    from flowkit.client import ClientContext

    result = run_flow(PIPELINE, "run", "--alpha", "3")
    assert result.returncode == 0, result.output
    run = ClientContext(str(run_flow.root)).run("TrainFlow/1")
    for task in run["work"]:
        parent = run["fan_out"].task
        assert parent is not None
        inputs = {a.id: a.data for a in parent}
        element = inputs["items"][task.index]
        alone = run_step(flow, "work", inputs=inputs, input=element, index=task.index)
        assert alone["pair"] == task.data.pair
    join = run["join"].task
    assert join is not None
    branches = {step: {a.id: a.data for a in run[step].task} for step in ("left", "right")}
    alone = run_step(flow, "join", inputs=branches, params={"alpha": 3})
    assert alone["xs"] == join.data.xs
    assert alone["from_left"] == join.data.from_left


NOTEBOOK_CELL = """\
from flowkit import FlowSpec, step


class CellFlow(FlowSpec):
    @step
    def start(self):
        self.x = 21 * 2
        self.next(self.end)

    @step
    def end(self):
        pass
"""


def test_a_flow_defined_in_a_notebook_cell(monkeypatch: pytest.MonkeyPatch) -> None:
    # What IPython does with a cell: compile it under a file name of its own that is not
    # written to disk, register the text with linecache, run it in __main__ (whose argv[0] is
    # the kernel's launcher, a real .py file: the wrong place to look for the source).
    import linecache

    cell_file = "/nonexistent/ipykernel_1/cell_7.py"
    monkeypatch.setitem(
        linecache.cache,
        cell_file,
        (len(NOTEBOOK_CELL), None, NOTEBOOK_CELL.splitlines(True), cell_file),
    )
    monkeypatch.setattr(sys, "argv", [__file__])
    scope: dict[str, object] = {"__name__": "__main__"}
    exec(compile(NOTEBOOK_CELL, cell_file, "exec"), scope)
    result = run_step(scope["CellFlow"], "start")  # type: ignore[arg-type]
    assert result.artifacts == {"x": 42}
    assert result.next == ["end"]
