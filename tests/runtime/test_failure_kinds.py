"""The retry policy decides on a failure's recorded kind, never on the text of its message."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from flowkit.datastore import Failure, TaskManifest
from flowkit.decorators.builtin import RetryDecorator
from flowkit.runtime.local import exit_kind
from flowkit.runtime.policy import FailurePolicy
from flowkit.runtime.spec import TaskSpec


def _failed(kind: str, message: str) -> TaskManifest:
    return TaskManifest(
        flow="F",
        run_id="1",
        step="s",
        task_id="2",
        attempt=0,
        status="failed",
        started_at=1700000000.0,
        finished_at=1700000001.0,
        failure=Failure(kind, "SomeError", message, message),
    )


def _policy() -> FailurePolicy:
    ctx: Any = SimpleNamespace(decorators={"s": [RetryDecorator(times=2)]})
    return FailurePolicy(ctx)


@pytest.mark.parametrize(
    ("kind", "message", "retried"),
    [
        # a user's message that merely mentions a signal is still the user's exception
        ("exception", "worker got signal SIGTERM from the pool", True),
        ("crashed", "the task process was killed by signal SIGKILL", True),
        ("timeout", "the task timed out", True),
        # stopped on purpose: whatever the message says
        ("interrupted", "anything", False),
        ("killed", "the run was interrupted", False),
    ],
)
def test_retry_follows_the_kind(kind: str, message: str, retried: bool) -> None:
    decision = _policy().decide(TaskSpec("s", "2", 0, []), _failed(kind, message))
    assert (decision.retry is not None) == retried


def test_a_process_ended_by_sigterm_or_sigint_is_interrupted_others_crashed() -> None:
    import signal

    assert exit_kind(signal.SIGTERM) == "interrupted"  # waitpid status of a signal death
    assert exit_kind(signal.SIGINT) == "interrupted"
    assert exit_kind(signal.SIGSEGV) == "crashed"
    assert exit_kind(1 << 8) == "crashed"  # exit code 1
