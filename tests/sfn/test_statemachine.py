"""The Step Functions state machine generator (flowkit_sfn): every DAG shape of the test flows
becomes a state machine that statelint accepts, with the states each construct maps to."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flowtests import SHAPE_CASES, SHAPES, FlowRunner

from flowkit.extend import load_graph
from flowkit_sfn import SfnOptions, build_state_machine, state_machine_for
from flowkit_sfn.statemachine import BATCH_SUBMIT, INPUT_STATE


def _flow_class(file: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> type:
    monkeypatch.syspath_prepend(str(file.parent))  # the shapes import their _probe helper
    spec = importlib.util.spec_from_file_location(f"sfn_{file.stem}", file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def _shape_machine(shape: str, monkeypatch: pytest.MonkeyPatch, **options: Any) -> dict:
    case = SHAPE_CASES[shape]
    flow_cls = _flow_class(case.file, case.flow, monkeypatch)
    return state_machine_for(flow_cls, SfnOptions(**options))


def statelint_problems(machine: dict) -> str:
    """What statelint (the ASL validator) finds wrong; '' when the machine is valid."""
    proc = subprocess.run(
        [sys.executable, "-m", "statelint", json.dumps(machine)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return "" if proc.returncode == 0 else proc.stdout + proc.stderr


def walk(states: dict) -> Iterator[tuple[str, dict]]:
    """Every state, including those inside Map iterations and Parallel branches."""
    for name, state in states.items():
        yield name, state
        if "ItemProcessor" in state:
            yield from walk(state["ItemProcessor"]["States"])
        for branch in state.get("Branches", []):
            yield from walk(branch["States"])


def tasks_of(machine: dict) -> dict[str, list[dict]]:
    """Batch task states by step name (a step has several copies when it is in a foreach)."""
    found: dict[str, list[dict]] = {}
    for _, state in walk(machine["States"]):
        if state.get("Resource") == BATCH_SUBMIT:
            command = state["Parameters"]["ContainerOverrides"]["Command.$"]
            step = command.split("'--step', '")[1].split("'")[0]
            found.setdefault(step, []).append(state)
    return found


def types_of(machine: dict) -> list[str]:
    return [state["Type"] for _, state in walk(machine["States"])]


def test_statelint_rejects_a_broken_machine() -> None:
    # the validator the other tests rely on really finds problems
    broken = {"StartAt": "a", "States": {"a": {"Type": "Task", "Next": "nowhere"}}}
    assert statelint_problems(broken) != ""


@pytest.mark.parametrize("shape", sorted(SHAPE_CASES))
def test_every_shape_passes_statelint(shape: str, monkeypatch: pytest.MonkeyPatch) -> None:
    machine = _shape_machine(shape, monkeypatch)
    assert statelint_problems(machine) == ""
    # a Batch task state for every step (copied into the inline and the distributed map)
    case = SHAPE_CASES[shape]
    graph = load_graph(_flow_class(case.file, case.flow, monkeypatch))
    assert set(tasks_of(machine)) == set(graph.steps)
    assert machine["StartAt"] == INPUT_STATE  # the execution input is checked, then init
    assert "$$.Execution.Name" in json.dumps(machine["States"]["init"])


def test_linear_is_a_chain_of_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    machine = _shape_machine("linear", monkeypatch)
    assert sorted(tasks_of(machine)) == ["a", "b", "c", "end", "start"]
    assert set(types_of(machine)) == {"Choice", "Pass", "Task"}  # the Choice: the input check
    assert machine["States"]["start"]["Next"] == "a"
    assert machine["States"]["end"]["End"] is True


def test_static_branches_are_a_parallel_state(monkeypatch: pytest.MonkeyPatch) -> None:
    machine = _shape_machine("branch", monkeypatch)
    parallel = machine["States"]["start_branches"]
    assert parallel["Type"] == "Parallel"
    starts = sorted(branch["StartAt"] for branch in parallel["Branches"])
    assert starts == ["left", "right"]
    assert parallel["Next"] == "join" and parallel["ResultPath"] is None


def test_foreach_is_a_map_inline_or_distributed_by_width(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    machine = _shape_machine("foreach", monkeypatch, inline_limit=200)
    states = machine["States"]
    assert states["start"]["Next"] == "start_read"
    read = states["start_read"]
    assert read["Resource"] == "arn:aws:states:::dynamodb:getItem"
    width = states["start_width"]
    assert width["Choices"][0]["NumericGreaterThan"] == 200
    assert width["Choices"][0]["Next"] == "start_distributed"
    inline = states["start_inline"]
    assert inline["ItemProcessor"]["ProcessorConfig"]["Mode"] == "INLINE"
    distributed = states["start_distributed"]
    assert distributed["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert inline["Next"] == distributed["Next"] == "join"
    # the task id comes from the Map index, so the join needs no ids collected
    assert "$$.Map.Item.Value" in inline["ItemSelector"]["path.$"]
    assert inline["ResultPath"] is None and distributed["ResultPath"] is None
    # a distributed child's output is {} whatever its chunk's width
    children = distributed["ItemProcessor"]["States"]
    assert children["start_chunk_done"]["Parameters"] == {}


def test_nested_foreach_is_a_map_inside_a_map(monkeypatch: pytest.MonkeyPatch) -> None:
    machine = _shape_machine("nested_foreach", monkeypatch)
    outer = machine["States"]["start_inline"]["ItemProcessor"]["States"]
    assert outer["i_outer_inline"]["Type"] == "Map"
    inner = outer["i_outer_inline"]["ItemProcessor"]["States"]
    assert "i_i_inner" in inner
    assert outer["i_outer_inline"]["Next"] == "i_inner_join"
    # three levels in the string variant
    deep = _shape_machine("nested_foreach_strings", monkeypatch)
    depth = max(name.count("i_") for name, _ in walk(deep["States"]))
    assert depth >= 3


def test_switch_is_a_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    machine = _shape_machine("switch", monkeypatch)
    states = machine["States"]
    choice = next(s for n, s in states.items() if s["Type"] == "Choice" and n != INPUT_STATE)
    targets = {c["StringEquals"]: c["Next"] for c in choice["Choices"]}
    assert set(targets.values()) <= set(states)
    assert len(targets) >= 2


def test_recursive_switch_loops_back_with_a_pass_count(monkeypatch: pytest.MonkeyPatch) -> None:
    machine = _shape_machine("recursive_switch", monkeypatch)
    states = machine["States"]
    again = [name for name in states if "_again_" in name]
    assert again, list(states)
    loop = states[again[0]]
    assert "States.MathAdd($.pass, 1)" in loop["Parameters"]["pass.$"]
    head = loop["Next"]
    # the loop's tasks get one id per pass
    assert "$.pass" in states[head]["Parameters"]["ContainerOverrides"]["Command.$"]
    # inside a foreach the loop is inside the Map's iteration
    nested = _shape_machine("recursive_switch_inside_foreach", monkeypatch)
    inner = [n for n, _ in walk(nested["States"]) if "_again_" in n]
    assert inner and all(n.startswith(("i_", "d_")) for n in inner)


RETRY_FLOW = """
from flowkit import FlowSpec, catch, resources, retry, step, timeout


class DecoFlow(FlowSpec):
    @retry(times=2, minutes_between_retries=1)
    @timeout(minutes=5)
    @resources(cpu=2, memory=8000, gpu=1)
    @catch(var="failed")
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    DecoFlow()
"""


def test_decorators_map_to_retry_timeout_and_resources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = tmp_path / "deco_flow.py"
    flow.write_text(RETRY_FLOW)
    machine = state_machine_for(_flow_class(flow, "DecoFlow", monkeypatch))
    assert statelint_problems(machine) == ""
    start = machine["States"]["start"]
    assert start["Retry"] == [
        {
            "ErrorEquals": ["States.TaskFailed", "States.Timeout"],
            "MaxAttempts": 2,
            "IntervalSeconds": 60,
            "BackoffRate": 1.0,
        }
    ]
    assert "TimeoutSeconds" not in start  # it would count queueing: the task enforces it
    params = start["Parameters"]
    assert params["Timeout"] == {"AttemptDurationSeconds": 300}
    assert params["ContainerOverrides"]["ResourceRequirements"] == [
        {"Type": "VCPU", "Value": "2"},
        {"Type": "MEMORY", "Value": "8000"},
        {"Type": "GPU", "Value": "1"},
    ]
    assert "'--max-retries', '2'" in params["ContainerOverrides"]["Command.$"]
    assert "$$.State.RetryCount" in params["ContainerOverrides"]["Command.$"]
    # no decorators: no retry, no timeout, the default queue
    end = machine["States"]["end"]
    assert "Retry" not in end and "TimeoutSeconds" not in end
    assert end["Parameters"]["JobQueue"] == "flowkit-default"


def test_options_reach_the_jobs_and_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    machine = _shape_machine(
        "foreach", monkeypatch, job_queue="q1", job_definition="jd1", table="t1"
    )
    tasks = [s for group in tasks_of(machine).values() for s in group]
    assert {t["Parameters"]["JobQueue"] for t in tasks} == {"q1"}
    assert {t["Parameters"]["JobDefinition"] for t in tasks} == {"jd1"}
    assert machine["States"]["start_read"]["Parameters"]["TableName"] == "t1"
    with pytest.raises(ValueError, match="inline_limit"):
        SfnOptions(inline_limit=5000)


@pytest.mark.parametrize("shape", sorted(SHAPE_CASES))
def test_no_credentials_in_the_machine(shape: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-example")
    text = json.dumps(_shape_machine(shape, monkeypatch))
    for secret in ("AWS_SECRET", "ACCESS_KEY", "AKIAEXAMPLEKEY", "s3cr3t-example"):
        assert secret not in text


def test_build_state_machine_without_decorators(monkeypatch: pytest.MonkeyPatch) -> None:
    case = SHAPE_CASES["branch"]
    graph = load_graph(_flow_class(case.file, case.flow, monkeypatch))
    machine = build_state_machine(graph)
    assert statelint_problems(machine) == ""
    assert machine["Comment"].startswith("flowkit flow BranchFlow;")


def test_shapes_folder_is_the_one_tested() -> None:
    assert all(case.file.parent == SHAPES for case in SHAPE_CASES.values())


def test_create_only_json_prints_a_valid_machine(tmp_path: Path) -> None:
    # as a user runs it: the flow file's own command line, the plugin found by its entry point
    case = SHAPE_CASES["nested_foreach"]
    runner = FlowRunner(tmp_path / "store", tmp_path)
    result = runner(
        case.file,
        "step-functions",
        "create",
        "--only-json",
        "--job-queue",
        "q-cli",
        FLOWKIT_BATCH_QUEUE="unused",
    )
    assert result.returncode == 0, result.output
    machine = json.loads(result.stdout)
    assert statelint_problems(machine) == ""
    assert machine["Comment"] == "flowkit flow NestedForeachFlow; execution input: none needed"
    assert {t["Parameters"]["JobQueue"] for g in tasks_of(machine).values() for t in g} == {"q-cli"}
    # the queue defaults to the Batch plugin's batch_queue setting
    default = runner(case.file, "step-functions", "create", "--only-json", FLOWKIT_BATCH_QUEUE="qb")
    assert default.returncode == 0, default.output
    assert '"JobQueue": "qb"' in default.stdout
    # creating on AWS needs the state machine's role, and says which setting gives it
    refused = runner(case.file, "step-functions", "create", FLOWKIT_SFN_ROLE_ARN="")
    assert refused.returncode == 2
    assert "FLOWKIT_SFN_ROLE_ARN" in refused.stderr
    assert "step-functions" in runner(case.file, "--help").stdout
    assert not (tmp_path / "store").exists()  # nothing written: no datastore is touched


def _read_choice_pairs(machine: dict) -> list[tuple[dict, dict]]:
    states = dict(walk(machine["States"]))
    return [
        (state, states[state["Next"]])
        for state in states.values()
        if state.get("Resource") == "arn:aws:states:::dynamodb:getItem"
    ]


@pytest.mark.parametrize("shape", ["switch", "recursive_switch", "foreach", "switch_in_foreach"])
def test_choices_test_what_the_read_state_wrote(
    shape: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pairs = _read_choice_pairs(_shape_machine(shape, monkeypatch))
    assert pairs
    for read, choice in pairs:
        assert choice["Type"] == "Choice"
        written = {f"{read['ResultPath']}.{key[:-2]}" for key in read["ResultSelector"]}
        assert {c["Variable"] for c in choice["Choices"]} <= written


LOOPED_FOREACH_FLOW = """
from flowkit import FlowSpec, step


class LoopedForeachFlow(FlowSpec):
    @step
    def start(self):
        self.rounds = 0
        self.next(self.fan)

    @step
    def fan(self):
        self.items = [1, 2]
        self.next(self.work, foreach="items")

    @step
    def work(self):
        self.next(self.gather)

    @step
    def gather(self, inputs):
        self.rounds = inputs[0].rounds + 1
        self.again = "yes" if self.rounds < 2 else "no"
        self.next({"yes": self.fan, "no": self.end}, condition="again")

    @step
    def end(self):
        pass


if __name__ == "__main__":
    LoopedForeachFlow()
"""


def test_a_foreach_on_a_loop_gets_new_task_ids_each_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = tmp_path / "looped_foreach.py"
    flow.write_text(LOOPED_FOREACH_FLOW)
    machine = state_machine_for(_flow_class(flow, "LoopedForeachFlow", monkeypatch))
    assert statelint_problems(machine) == ""
    states = machine["States"]
    assert "$.pass" in states["fan_inline"]["ItemSelector"]["path.$"]
    assert "$.pass" in states["fan_distributed"]["ItemSelector"]["path.$"]
    assert states["gather_again_fan"]["Next"] == "fan"
