"""Flow parameters in the Step Functions state machine: taken from the execution input
(``{"parameters": {...}}``), checked by the first state, handed to the start step's job."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flowtests import SHAPE_CASES, FlowRunner
from test_statemachine import _flow_class, statelint_problems, tasks_of, walk

from flowkit import FlowSpec, Parameter, step
from flowkit_sfn import state_machine_for
from flowkit_sfn.statemachine import INPUT_STATE, MISSING_PARAMETER

PARAMS_FLOW = Path(__file__).parents[1] / "flows" / "params.py"
#: Every intrinsic function Step Functions offers (ASL spec, "Intrinsic functions").
INTRINSICS = {
    "States.Format", "States.StringToJson", "States.JsonToString", "States.Array",
    "States.ArrayPartition", "States.ArrayContains", "States.ArrayRange", "States.ArrayGetItem",
    "States.ArrayLength", "States.ArrayUnique", "States.Base64Encode", "States.Base64Decode",
    "States.Hash", "States.JsonMerge", "States.MathRandom", "States.MathAdd", "States.StringSplit",
    "States.UUID",
}  # fmt: skip


def _params_machine(monkeypatch: pytest.MonkeyPatch) -> dict:
    return state_machine_for(_flow_class(PARAMS_FLOW, "ParamFlow", monkeypatch))


def _intrinsic_ok(expr: str) -> bool:
    """Known functions only, balanced parentheses and quotes outside them."""
    if not all(name in INTRINSICS for name in re.findall(r"States\.\w+", expr)):
        return False
    depth = 0
    for char in re.sub(r"'[^']*'", "''", expr):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0 and expr.count("'") % 2 == 0


def test_start_command_gets_the_parameters_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    machine = _params_machine(monkeypatch)
    assert statelint_problems(machine) == ""
    tasks = tasks_of(machine)
    start = tasks["start"][0]["Parameters"]["ContainerOverrides"]["Command.$"]
    assert start.endswith("'--param-json', $.params)")
    # the other steps read them from the run the start step made
    end = tasks["end"][0]["Parameters"]["ContainerOverrides"]["Command.$"]
    assert "--param-json" not in end
    init = machine["States"]["init"]["Parameters"]
    assert init["params.$"] == "States.JsonToString($.parameters)"
    exprs = [
        value
        for _, state in walk(machine["States"])
        for value in _values(state.get("Parameters", {}))
        if isinstance(value, str) and value.startswith("States.")
    ]
    assert start in exprs and init["params.$"] in exprs
    assert all(_intrinsic_ok(expr) for expr in exprs), exprs
    assert not _intrinsic_ok("States.JsonToStrin($.parameters)")  # the check can fail


def _values(tree: object) -> list[object]:
    if isinstance(tree, dict):
        return [v for value in tree.values() for v in _values(value)]
    return [tree]


def test_a_required_parameter_is_checked_and_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    machine = _params_machine(monkeypatch)
    assert machine["StartAt"] == INPUT_STATE
    choice = machine["States"][INPUT_STATE]
    assert choice["Choices"] == [
        {"Variable": "$.parameters.seed", "IsPresent": True, "Next": "init"}
    ]
    missing = machine["States"][choice["Default"]]
    assert missing["Type"] == "Fail" and missing["Error"] == MISSING_PARAMETER
    assert "seed" in missing["Cause"]
    comment = machine["Comment"]
    assert '{"parameters":' in comment
    assert "required: seed (int);" in comment
    for optional in ("count (int)", "ratio (float)", "verbose (bool)", "config (json)"):
        assert optional in comment.split("optional:")[1]


def test_no_required_parameter_means_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    case = SHAPE_CASES["linear"]
    machine = state_machine_for(_flow_class(case.file, case.flow, monkeypatch))
    assert statelint_problems(machine) == ""
    choice = machine["States"][INPUT_STATE]
    assert choice["Choices"][0] == {"Variable": "$.parameters", "IsPresent": True, "Next": "init"}
    fallback = machine["States"][choice["Default"]]
    assert fallback["Result"] == {"parameters": {}} and fallback["Next"] == "init"


def test_create_only_json_lists_the_parameters(tmp_path: Path) -> None:
    runner = FlowRunner(tmp_path / "store", tmp_path)
    result = runner(PARAMS_FLOW, "step-functions", "create", "--only-json")
    assert result.returncode == 0, result.output
    machine = json.loads(result.stdout)
    assert statelint_problems(machine) == ""
    assert "required: seed (int)" in machine["Comment"]
    assert "'--param-json', $.params" in json.dumps(tasks_of(machine)["start"])
    assert not (tmp_path / "store").exists()


def test_readme_says_how_to_pass_parameters() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("Deploying to AWS Step Functions")[1].split("\n## ")[0]
    assert '{"parameters":' in section and "--param-json" in section


class TwoRequiredFlow(FlowSpec):
    """Two required parameters, one whose name is no JSONPath identifier."""

    max_count = Parameter("max-count", required=True, type=int)
    name = Parameter("name", required=True)

    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


def test_every_required_parameter_is_checked() -> None:
    machine = state_machine_for(TwoRequiredFlow)
    assert statelint_problems(machine) == ""
    rule = machine["States"][INPUT_STATE]["Choices"][0]
    assert [r["Variable"] for r in rule["And"]] == [
        "$.parameters['max-count']",
        "$.parameters.name",
    ]
    assert "required: max-count (int), name (str); optional: none" in machine["Comment"]
