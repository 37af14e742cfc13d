"""The catalogue of malformed flows and the message each one must produce.

Every file in ``tests/flows/malformed/`` is one mistake. Definition mistakes must be refused by both
``check`` and ``run`` before any task starts, with exit code 2, ``file:line``, what is wrong and a
``Fix:`` hint. Runtime mistakes pass ``check`` but fail ``run`` with a one-paragraph message that
names the step, and never with a traceback of flowkit's own frames.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from flowtests import FlowResult, FlowRunner

MALFORMED = Path(__file__).parents[1] / "flows" / "malformed"


@dataclass(frozen=True)
class Case:
    """One malformed flow: its file, the line the message points at, and what it must say."""

    file: str
    line: int
    what: tuple[str, ...]
    fix: str

    @property
    def path(self) -> Path:
        return MALFORMED / self.file

    @property
    def flow_name(self) -> str:
        found = re.search(r"^class (\w+)\(FlowSpec\)", self.path.read_text(), re.MULTILINE)
        assert found, f"{self.file} defines no flow class"
        return found.group(1)

    def __str__(self) -> str:
        return self.file.removesuffix(".py")


STATIC = [
    Case("no_start.py", 6, ("flow NoStartFlow has no start step",), "rename 'begin'"),
    Case("no_end.py", 6, ("flow NoEndFlow has no end step",), "rename 'finish'"),
    Case(
        "duplicate_start.py",
        12,
        ("'start' is defined twice", "first at line 8"),
        "rename or delete one of the two 'start' methods",
    ),
    Case(
        "duplicate_end.py",
        16,
        ("'end' is defined twice", "first at line 12"),
        "rename or delete one of the two 'end' methods",
    ),
    Case(
        "step_overridden_by_method.py",
        15,
        ("'train' is defined twice", "silently replaces"),
        "rename or delete one",
    ),
    Case(
        "unknown_target.py",
        9,
        ("self.next(self.trian)", "'trian' is not a step of this flow"),
        'Did you mean "train"?',
    ),
    Case(
        "target_not_a_step.py",
        9,
        ("'train' is not a step of this flow",),
        "add @step above def train(self)",
    ),
    Case(
        "next_inside_if.py",
        11,
        ("self.next in step 'start' is not the last statement",),
        "use a switch",
    ),
    Case(
        "next_twice_static.py",
        11,
        ("not the last statement", "calls it more than once"),
        "call self.next once, as the last statement",
    ),
    Case("missing_next.py", 12, ("step 'work' does not call self.next",), "self.next(self.end)"),
    Case("end_calls_next.py", 13, ("the end step calls self.next",), "remove the call"),
    Case("cycle.py", 17, ("the steps form a cycle: a -> b -> a",), "flows are acyclic"),
    Case(
        "loop_closed_by_linear.py",
        19,
        ("the steps form a cycle: a -> b -> a",),
        "flows are acyclic except for loops closed by a switch: point 'b' forward",
    ),
    Case(
        "loop_to_start.py",
        14,
        ("the switch in 'a' goes back to 'start'", "runs once per run"),
        "loop back to a step after start",
    ),
    Case(
        "loop_join_to_itself.py",
        19,
        ("the switch in 'join' goes back to 'join', a join",),
        "add a step after the join and loop to it",
    ),
    Case(
        "loop_two_entries.py",
        19,
        ("the switch in 'b' goes back to 'a', but the loop is also entered at 'b' (from 'start')",),
        "lead 'start' to 'a' instead",
    ),
    Case(
        "loop_out_of_foreach.py",
        19,
        ("the switch in 'work' goes back to 'prepare', across a split or join",),
        "loop back to a step between the same split and join as 'work'",
    ),
    Case(
        "unreachable.py",
        12,
        ("step 'orphan' is never reached from start",),
        "call self.next(self.orphan) from an earlier step",
    ),
    Case(
        "join_without_split.py",
        12,
        ("join step 'join' has no matching split",),
        "declare it as def join(self):",
    ),
    Case(
        "join_of_switch.py",
        21,
        ("follows the switch 'start'", "nothing to join"),
        "declare it as def join(self):",
    ),
    Case(
        "join_unrelated.py",
        28,
        ("join step 'join' joins unrelated branches", "opened by a, start"),
        "join each split's branches in its own join step",
    ),
    Case(
        "join_missing_branch.py",
        24,
        ("joins only some branches of split 'start'", "missing: c"),
        "lead every branch of 'start' to 'join'",
    ),
    Case(
        "split_and_join.py",
        21,
        ("join step 'join' also splits",),
        "add a separate step after 'join'",
    ),
    Case(
        "parallel_into_non_join.py",
        20,
        ("step 'collect' is reached from branches a, b that run in parallel",),
        "def collect(self, inputs):",
    ),
    Case(
        "split_never_joined.py",
        10,
        ("the branches opened by 'start' reach end without a join",),
        "lead 'work' to a join step",
    ),
    Case(
        "foreach_join_without_inputs.py",
        18,
        ("reach end through 'collect' without a join",),
        "def collect(self, inputs):",
    ),
    Case(
        "signature_extra_arg.py",
        12,
        ("step 'train' has the signature (self, data, epochs)",),
        "def train(self, inputs):",
    ),
    Case(
        "signature_varargs.py",
        8,
        ("step 'start' has the signature (self, *args)",),
        "declare it as def start(self):",
    ),
    Case("start_is_join.py", 8, ("the start step cannot be a join",), "def start(self):"),
    Case("async_step.py", 12, ("step 'fetch' is async",), "plain def"),
    Case(
        "reserved_step_name.py",
        12,
        ("'input' is a reserved name and cannot be a step",),
        "e.g. input_step",
    ),
    Case("step_named_next.py", 12, ("'next' is a reserved name",), "e.g. next_step"),
    Case(
        "underscore_step_name.py",
        12,
        ("step names cannot start with '_' ('_prepare')",),
        "e.g. prepare",
    ),
    Case(
        "assign_reserved.py",
        9,
        ("step 'start' assigns self.index, a name reserved by flowkit",),
        "self.index_value",
    ),
    Case("assign_next.py", 9, ("assigns self.next",), "self.next_value"),
    Case(
        "assign_step_name.py",
        9,
        ("assigns self.train, but 'train' is a step of this flow",),
        "self.train_result",
    ),
    Case(
        "assign_parameter.py",
        11,
        ("assigns self.alpha, but 'alpha' is a parameter",),
        "self.alpha_used",
    ),
    Case(
        "step_staticmethod.py",
        9,
        ("step 'start' is also a staticmethod",),
        "remove @staticmethod",
    ),
    Case(
        "foreach_into_join.py",
        10,
        ("fans out with foreach straight into the join 'join'",),
        "add a step between them",
    ),
    Case(
        "foreach_two_targets.py",
        10,
        ("foreach in step 'start' has 2 targets",),
        "fan out to exactly one step",
    ),
    Case(
        "foreach_not_literal.py",
        10,
        ("foreach= in step 'start' must be a string literal",),
        "the name, not the value",
    ),
    Case(
        "switch_without_condition.py",
        10,
        ("passes a dict of branches without condition=",),
        'add condition="name_of_artifact"',
    ),
    Case(
        "condition_without_dict.py",
        10,
        ("passes condition= without a dict of branches",),
        'self.next({"a": self.a, "b": self.b}, condition="choice")',
    ),
    Case("next_not_a_step.py", 9, ("has an argument that is not a step",), "self.next(self.a)"),
    Case("next_unknown_keyword.py", 10, ("unknown argument for_each=",), "foreach='artifact'"),
    Case(
        "param_cli_clash.py",
        8,
        ("parameter 'max_workers' clashes with a name flowkit uses",),
        "rename it",
    ),
    Case(
        "param_duplicate.py",
        8,
        ("parameters 'rate' and 'learning_rate' both use the option --rate",),
        "give each parameter its own name",
    ),
    Case(
        "param_unknown_keyword.py",
        7,
        ("Parameter 'alpha' has no keyword 'defualt'.", 'Did you mean "default"?'),
        "Parameter takes default, help, required, show_default, type",
    ),
]

RUNTIME = [
    Case(
        "runtime_foreach_not_sequence.py",
        10,
        ("step 'start'", "foreach='count' needs a list", "self.count is 3 (type int)"),
        "make self.count a list",
    ),
    Case(
        "runtime_foreach_empty.py",
        10,
        ("step 'start'", "foreach over self.items, which is empty"),
        "check why self.items is empty",
    ),
    Case(
        "runtime_next_twice.py",
        10,
        ("self.next was called twice in step 'start'", "runtime_next_twice.py:14"),
        "calls from helper methods count too",
    ),
    Case(
        "runtime_next_skipped.py",
        8,
        ("step 'start' finished without calling self.next",),
        "make sure no return skips it",
    ),
    Case(
        "runtime_switch_no_branch.py",
        10,
        ("step 'start'", "self.mode is 'medium', which matches no branch", "'fast', 'slow'"),
        "set self.mode to one of the branch keys",
    ),
    Case(
        "runtime_switch_unset.py",
        9,
        ("step 'start'", "condition='mode' but self.mode is not set"),
        "assign self.mode before self.next",
    ),
    Case(
        "runtime_reserved_setattr.py",
        9,
        ("'input' is reserved by flowkit",),
        "self.input_value",
    ),
]


def _assert_message(case: Case, result: FlowResult) -> None:
    assert f"{case.file}:{case.line}:" in result.stderr, result.stderr
    for text in case.what:
        assert text in result.stderr, result.stderr
    assert f"Fix: {case.fix}" in result.stderr or (
        "Fix:" in result.stderr and case.fix in result.stderr.split("Fix:", 1)[1]
    ), result.stderr
    assert "Traceback" not in result.output, result.output


def test_catalogue_lists_every_malformed_flow() -> None:
    listed = {c.file for c in STATIC + RUNTIME}
    on_disk = {p.name for p in MALFORMED.glob("*.py")}
    assert listed == on_disk
    assert len(STATIC) + len(RUNTIME) >= 26


@pytest.mark.parametrize("command", ["check", "run"])
@pytest.mark.parametrize("case", STATIC, ids=str)
def test_definition_error(case: Case, command: str, run_flow: FlowRunner) -> None:
    result = run_flow(case.path, command)
    assert result.returncode == 2, result.output
    _assert_message(case, result)
    assert "malformed flow" in result.stderr
    assert "started" not in result.output
    assert not (run_flow.root / case.flow_name / "runs").exists()


@pytest.mark.parametrize("case", RUNTIME, ids=str)
def test_runtime_error(case: Case, run_flow: FlowRunner) -> None:
    checked = run_flow(case.path, "check")
    assert checked.returncode == 0, checked.output

    result = run_flow(case.path, "run")
    assert result.returncode not in (0, 2), result.output
    _assert_message(case, result)
    assert "FlowRuntimeError" in result.stderr
