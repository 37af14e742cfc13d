"""Misuses of ``num_parallel`` and ``@parallel`` are refused by ``check`` (and ``run``) before any
task starts, with the file and line, what is wrong and how to fix it."""

from __future__ import annotations

from pathlib import Path

import pytest
from flowtests import FLOWS, FlowRunner

HEADER = "from flowkit import FlowSpec, catch, parallel, retry, step\n\n\nclass G(FlowSpec):\n"

VALID = """
    @step
    def start(self):
        self.next(self.train, num_parallel=2)

    @parallel
    @step
    def train(self):
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass
"""

CASES = {
    "target_not_parallel": (
        VALID.replace("    @parallel\n", ""),
        "step 'start' starts 'train' with num_parallel, but 'train' is not @parallel",
        "add @parallel above @step",
        ":8",
    ),
    "parallel_without_num_parallel": (
        VALID.replace("self.next(self.train, num_parallel=2)", "self.next(self.train)").replace(
            "def join(self, inputs)", "def join(self)"
        ),
        "step 'train' is @parallel but no step starts it with num_parallel",
        "start it with self.next(self.train, num_parallel=N)",
        ":12",
    ),
    "no_join_after_parallel": (
        VALID.replace("self.next(self.join)", "self.next(self.middle)").replace(
            "    @step\n    def join",
            "    @step\n    def middle(self):\n        self.next(self.join)\n\n"
            "    @step\n    def join",
        ),
        "@parallel step 'train' must lead straight to a join step",
        "declare def join(self, inputs):",
        ":13",
    ),
    "retry_on_parallel": (
        VALID.replace("    @parallel\n", "    @retry\n    @parallel\n"),
        "@retry cannot be used on the @parallel step 'train'",
        "resume the run, which runs the whole gang again",
        ":13",
    ),
    "catch_on_parallel": (
        VALID.replace("    @parallel\n", "    @parallel\n    @catch\n"),
        "@catch cannot be used on the @parallel step 'train'",
        "remove @catch",
        ":13",
    ),
    "num_parallel_with_foreach": (
        VALID.replace("num_parallel=2)", "num_parallel=2, foreach='xs')"),
        "num_parallel in step 'start' must name exactly one step, without foreach=",
        "self.next(self.train, num_parallel=4)",
        ":8",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("command", ["check", "run"])
def test_misuse_is_refused_before_any_task(
    run_flow: FlowRunner, tmp_path: Path, name: str, command: str
) -> None:
    body, message, hint, line = CASES[name]
    flow = tmp_path / f"{name}.py"
    flow.write_text(HEADER + body + '\n\nif __name__ == "__main__":\n    G()\n')
    result = run_flow(flow, command)
    assert result.returncode == 2, result.output
    assert message in result.stderr
    assert hint in result.stderr
    assert f"{name}.py{line}" in result.stderr
    assert not (run_flow.root / "G").exists()  # no run was recorded


def test_with_parallel_on_every_step_is_refused(run_flow: FlowRunner) -> None:
    result = run_flow(FLOWS / "parallel" / "rendezvous.py", "run", "--with", "parallel")
    assert result.returncode == 2, result.output
    assert "@parallel step 'start' is not started with num_parallel" in result.stderr


def test_show_describes_the_gang(run_flow: FlowRunner) -> None:
    result = run_flow(FLOWS / "parallel" / "gang.py", "show")
    assert result.returncode == 0, result.output
    assert "=> train  (gang of num_parallel=self.nodes tasks)" in result.stdout
