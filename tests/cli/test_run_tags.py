"""``run --tag`` follows the rules of ``tag add``, and refuses before the run starts."""

from __future__ import annotations

import pytest
from flowtests import FLOWS

LINEAR = FLOWS / "valid" / "linear.py"


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("two\nlines", "control character"),
        ("x" * 5000, "at most 256 characters"),
        ("", "is not a valid tag"),
    ],
)
def test_run_refuses_a_tag_that_tag_add_refuses(run_flow, tag, expected):
    result = run_flow(LINEAR, "run", "--tag", "fine", "--tag", tag)
    assert result.returncode == 2, result.output
    assert "bad tag" in result.stderr and expected in result.stderr
    assert "Traceback" not in result.output
    assert "started" not in result.output
    assert not (run_flow.root / "LinearFlow").exists()


def test_run_accepts_a_valid_tag(run_flow):
    result = run_flow(LINEAR, "run", "--tag", "team:ml")
    assert result.returncode == 0, result.output
    assert "team:ml" in run_flow.store("LinearFlow").run_record("1").tags
