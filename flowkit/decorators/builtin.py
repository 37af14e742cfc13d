"""The built-in step decorators: retry, catch, timeout, resources, environment."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from typing import Any, ClassVar

from flowkit.decorators.attach import step_decorator
from flowkit.decorators.base import StepDecorator
from flowkit.decorators.parallel import ParallelDecorator
from flowkit.errors import FlowDefinitionError


def _number(deco: StepDecorator, key: str, *, minimum: float = 0, integer: bool = False) -> None:
    value = deco.attributes[key]
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < minimum:
        kind = "a whole number" if integer else "a number"
        raise deco._bad(
            f"{key}={value!r} must be {kind} >= {minimum}", f"e.g. @{deco.name}({key}=1)"
        )


class RetryDecorator(StepDecorator):
    """Re-run a failed task up to ``times`` more times, waiting between attempts.

    Waiting does not hold a worker slot; a task stopped by the user (Ctrl-C, SIGTERM) is not
    retried. Each attempt has its own manifest and logs.
    """

    name = "retry"
    defaults = {"times": 3, "minutes_between_retries": 2}

    def validate(self) -> None:
        _number(self, "times", integer=True)
        _number(self, "minutes_between_retries")

    def retries(self) -> int:
        return int(self.attributes["times"])

    def retry_delay(self) -> float:
        return float(self.attributes["minutes_between_retries"]) * 60


class CaughtException:
    """An exception stored by ``@catch``: readable without the original exception class.

    Attributes:
        type: The exception's class name.
        message: ``str(exception)``.
        traceback: The user's traceback as text.
        pathspec: The task that failed.
    """

    def __init__(self, type: str, message: str, traceback: str, pathspec: str) -> None:
        self.type = type
        self.message = message
        self.traceback = traceback
        self.pathspec = pathspec

    def __str__(self) -> str:
        return f"{self.type}: {self.message}"

    def __repr__(self) -> str:
        return f"<CaughtException {self.type}: {self.message!r} in {self.pathspec}>"


class CatchDecorator(StepDecorator):
    """When the last attempt fails, store the exception in ``var`` and continue the flow.

    The step's ``next`` is followed with the artifacts the task received (anything the failed
    attempt set is not kept) plus ``var``, a :class:`CaughtException`.
    """

    name = "catch"
    defaults: ClassVar[dict[str, Any]] = {"var": None, "print_exception": True}

    def validate(self) -> None:
        var = self.attributes["var"]
        if var is not None and (not isinstance(var, str) or not var.isidentifier()):
            raise self._bad(f"var={var!r} is not a valid artifact name", 'e.g. @catch(var="error")')

    def catch_var(self) -> str | None:
        return self.attributes["var"] or "_caught_exception"

    def step_init(self, graph: Any, node: Any) -> None:
        if node.kind == "switch":
            raise FlowDefinitionError(
                f"@catch on step {node.name!r}: a failed switch step has no branch to continue on",
                hint="move the risky code to a step before the switch",
                location=self.location,
            )


class TimeoutDecorator(StepDecorator):
    """Kill the task when it runs longer than ``seconds + 60*minutes + 3600*hours``.

    The task's process group is killed, so code stuck in a C extension or sleeping stops too.
    The failure says it timed out; ``@retry`` and ``@catch`` apply.
    """

    name = "timeout"
    defaults = {"seconds": 0, "minutes": 0, "hours": 0}

    def validate(self) -> None:
        for key in self.defaults:
            _number(self, key)
        if self.timeout_seconds() is None:
            raise self._bad("the timeout is zero", "give seconds=, minutes= or hours=")

    def timeout_seconds(self) -> float | None:
        a = self.attributes
        total = float(a["seconds"]) + 60 * float(a["minutes"]) + 3600 * float(a["hours"])
        return total or None


def _total_memory_mb() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
    except (ValueError, OSError, AttributeError):
        return None


class ResourcesDecorator(StepDecorator):
    """Declare what the step needs: ``cpu`` cores, ``memory`` in MB, ``gpu`` count.

    Recorded with every task; remote executors size their jobs from it; locally a warning is
    printed when this machine cannot satisfy it.
    """

    name = "resources"
    defaults = {"cpu": 1, "memory": 4096, "gpu": 0}

    def validate(self) -> None:
        _number(self, "cpu", minimum=0)
        _number(self, "memory", minimum=1)
        _number(self, "gpu", integer=True)

    def runtime_init(self, step: str, say: Callable[[str], None], executor: str = "local") -> None:
        if executor != "local":
            return  # a remote executor sizes its job from these; this machine does not matter
        a = self.attributes
        cores = os.cpu_count() or 1
        if a["cpu"] > cores:
            say(f"step {step!r} asks for {a['cpu']} CPUs; this machine has {cores}")
        total = _total_memory_mb()
        if total is not None and a["memory"] > total:
            say(f"step {step!r} asks for {a['memory']} MB of memory; this machine has {total:.0f}")
        if a["gpu"] and shutil.which("nvidia-smi") is None:
            say(f"step {step!r} asks for {a['gpu']} GPU(s); none found on this machine")


class EnvironmentDecorator(StepDecorator):
    """Set environment variables for the task, locally and on remote executors.

    The values are often secrets (tokens, passwords), so what flowkit records about this
    decorator (the task's manifest, messages) names the variables but never holds their values.
    """

    name = "environment"
    defaults: ClassVar[dict[str, Any]] = {"vars": {}}

    def validate(self) -> None:
        env = self.attributes["vars"]
        if not isinstance(env, dict) or not all(isinstance(k, str) for k in env):
            raise self._bad(
                "vars= must be a dict of names to values", 'vars={"OMP_NUM_THREADS": "8"}'
            )

    def task_environment(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.attributes["vars"].items()}

    def spec(self) -> str:
        """``environment:vars=NAME,NAME`` (names only), which is what manifests record.

        No hash of the values either: an unsalted hash of a short secret (a PIN, a password)
        can be found by trying guesses, and anyone who may read the datastore could do so. To
        tell runs apart by configuration, pass the non-secret settings as a Parameter instead.
        """
        names = ",".join(sorted(self.attributes["vars"]))
        return f"{self.name}:vars={names}" if names else self.name


retry = step_decorator(RetryDecorator)
catch = step_decorator(CatchDecorator)
timeout = step_decorator(TimeoutDecorator)
resources = step_decorator(ResourcesDecorator)
environment = step_decorator(EnvironmentDecorator)

BUILTIN_STEP_DECORATORS: dict[str, type[StepDecorator]] = {
    cls.name: cls
    for cls in (
        RetryDecorator,
        CatchDecorator,
        TimeoutDecorator,
        ResourcesDecorator,
        EnvironmentDecorator,
        ParallelDecorator,
    )
}
