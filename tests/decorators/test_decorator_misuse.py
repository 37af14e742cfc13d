"""Decorator misuse is a clear error, with file and line, before anything runs."""

from __future__ import annotations

import pytest
from flowtests import FLOWS

MISUSE = FLOWS / "decorator_misuse"

CASES = [
    ("bad_argument.py", 7, "@retry has no argument 'tims'. Did you mean \"times\"?"),
    ("below_step.py", 11, "@retry is below @step on step 'end'"),
    ("not_a_step.py", 4, "@retry decorates 'helper', which is not a step"),
    ("twice.py", 8, "@retry appears twice on step 'start'"),
    ("zero_timeout.py", 7, "@timeout: the timeout is zero"),
    ("catch_switch.py", 7, "@catch on step 'start': a failed switch step has no branch"),
    ("positional.py", 7, "@retry takes keyword arguments only"),
]


@pytest.mark.parametrize(("name", "line", "message"), CASES)
@pytest.mark.parametrize("command", ["check", "run"])
def test_misuse_is_refused_before_running(run_flow, name, line, message, command):
    result = run_flow(MISUSE / name, command)
    assert result.returncode == 2, result.output
    assert f"{name}:{line}: " in result.stderr
    assert message in result.stderr
    assert "Fix:" in result.stderr
    assert "Traceback" not in result.output
    assert not run_flow.root.exists() or not any(run_flow.root.glob("*/runs"))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("retyr", "there is no step decorator named 'retyr'. Did you mean \"retry\"?"),
        ("retry:times=abc", "--with retry:times=abc: @retry: times='abc' must be a whole number"),
        ("retry:times", "--with retry:times: 'times' is not key=value"),
        ("timeout:sekonds=3", "has no argument 'sekonds'. Did you mean \"seconds\"?"),
    ],
)
def test_bad_with_is_refused(run_flow, spec, message):
    result = run_flow(FLOWS / "shapes" / "linear.py", "run", "--with", spec)
    assert result.returncode == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not run_flow.root.exists()
