"""Step and flow decorators: the documented lifecycle hooks every decorator may implement.

A decorator is declared above ``@step`` (``@retry(times=3)``) or applied to every step with
``run --with retry:times=3``. Declaring one never raises at import time: a misuse is recorded and
reported by the graph check, with the file and line, before any task runs.

Lifecycle, in order (each hook has a no-op default):

=====================  ==============  ========================================================
hook                   runs in         purpose
=====================  ==============  ========================================================
``step_init``          check / start   validate against the graph; raise FlowDefinitionError
``runtime_init``       the runner      once per run, before the first task (warnings, setup)
``task_environment``   the task        environment variables the task runs with (a remote
                                       executor also sends them with the job)
``task_pre_step``      the task        just before the step function is called
``task_decorate``      the task        wrap the step call (return a new callable)
``task_post_step``     the task        after the step returned normally
``task_exception``     the task        the step raised; return True to mark it handled
``task_record``        the task        data to keep in the task's manifest, under the
                                       decorator's name (``plugin_data[name]``)
``runtime_finished``   the runner      once per run, after the last task, unless the run was
                                       interrupted or the datastore failed
=====================  ==============  ========================================================

"The task" is the process that runs the step: a fork of the runner, a fresh interpreter
(``--launcher spawn``) or a remote job, so a task hook must not rely on the runner's memory.
Flow decorators (:class:`FlowDecorator`) have ``flow_init``, ``runtime_init`` and
``runtime_finished``; theirs wrap the steps' (first to start, last to finish).

Scheduling attributes are plain methods the runner reads: :meth:`StepDecorator.retries`,
:meth:`StepDecorator.retry_delay`, :meth:`StepDecorator.timeout_seconds`,
:meth:`StepDecorator.executor_name` and :meth:`StepDecorator.catch_var`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from flowkit.errors import FlowDefinitionError, did_you_mean


class DecoratorArgumentError(FlowDefinitionError):
    """A decorator was given an unknown or invalid argument."""


class StepDecorator:
    """Base class of step decorators. Subclasses set ``name`` and ``defaults``.

    Args:
        **attributes: The decorator's arguments; unknown names are an error.

    Attributes:
        attributes: Effective arguments (defaults overlaid with the given ones).
        location: ``file:line`` of the decorated step (set when attached).
    """

    name: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any]] = {}
    #: May the decorator appear twice on one step?
    allow_multiple: ClassVar[bool] = False

    def __init__(self, **attributes: Any) -> None:
        if "_positional" in attributes:
            example = next(iter(self.defaults), "name")
            raise DecoratorArgumentError(
                f"@{self.name} takes keyword arguments only",
                hint=f"write @{self.name}({example}=...)",
            )
        unknown = sorted(set(attributes) - set(self.defaults))
        if unknown:
            raise DecoratorArgumentError(
                f"@{self.name} has no argument {unknown[0]!r}."
                + did_you_mean(unknown[0], self.defaults),
                hint=f"@{self.name} takes {', '.join(sorted(self.defaults)) or 'no arguments'}",
            )
        self.attributes = {**self.defaults, **attributes}
        self.location = ""
        self.validate()

    def validate(self) -> None:
        """Check the arguments (raise :class:`DecoratorArgumentError`)."""

    def _bad(self, message: str, hint: str) -> DecoratorArgumentError:
        return DecoratorArgumentError(f"@{self.name}: {message}", hint=hint)

    # -- scheduling attributes, read by the runner ---------------------------------------------
    def retries(self) -> int:
        """Extra attempts after a failure."""
        return 0

    def retry_delay(self) -> float:
        """Seconds to wait before a retry."""
        return 0.0

    def timeout_seconds(self) -> float | None:
        """Kill the task after this many seconds."""
        return None

    def executor_name(self) -> str | None:
        """Run the step on this executor (e.g. ``"batch"``) instead of locally."""
        return None

    def catch_var(self) -> str | None:
        """Artifact name that receives the exception when the last attempt fails."""
        return None

    # -- lifecycle hooks (see the module docstring) ---------------------------------------------
    def step_init(self, graph: Any, node: Any) -> None:
        """Validate against the flow graph; raise FlowDefinitionError on misuse."""

    def runtime_init(self, step: str, say: Callable[[str], None], executor: str = "local") -> None:
        """Once per run and step, in the runner, before any task.

        Args:
            step: The step this decorator is on.
            say: Prints a warning for the user.
            executor: Where the step's tasks will run (``"local"``, ``"batch"``...).
        """

    def runtime_finished(self, step: str) -> None:
        """Once per run and step, in the runner, after the last task."""

    def task_environment(self) -> dict[str, str]:
        """Environment variables the task runs with."""
        return {}

    def task_pre_step(self, flow: Any) -> None:
        """In the task, just before the step is called."""

    def task_decorate(self, call: Callable[[], None]) -> Callable[[], None]:
        """In the task: wrap the step call."""
        return call

    def task_post_step(self, flow: Any) -> None:
        """In the task, after the step returned normally."""

    def task_exception(self, flow: Any, exc: BaseException) -> bool:
        """In the task, when the step raised; return True to treat it as handled."""
        return False

    def task_record(self) -> dict[str, Any]:
        """In the task, at its end: JSON-able data stored in the task's manifest.

        It is kept as ``plugin_data[self.name]``: each decorator has its own namespace, so
        plugins never collide with each other nor with flowkit's own (typed) fields. Return an
        empty dict (the default) to store nothing.
        """
        return {}

    def spec(self) -> str:
        """The ``--with`` form of this decorator, e.g. ``retry:times=3``."""
        given = [f"{k}={v}" for k, v in self.attributes.items() if v != self.defaults.get(k)]
        return self.name + (":" + ",".join(given) if given else "")

    def __repr__(self) -> str:
        return f"@{self.spec()}"


class FlowDecorator:
    """Base class of flow decorators (applied to the flow class).

    Hooks: ``flow_init(graph)`` validates (``check``, and before a run starts);
    ``runtime_init(say)`` runs in the runner before any step decorator's ``runtime_init``, and
    ``runtime_finished()`` after every step decorator's ``runtime_finished``.
    """

    name: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, **attributes: Any) -> None:
        unknown = sorted(set(attributes) - set(self.defaults))
        if unknown:
            raise DecoratorArgumentError(
                f"@{self.name} has no argument {unknown[0]!r}",
                hint=f"@{self.name} takes {', '.join(sorted(self.defaults)) or 'no arguments'}",
            )
        self.attributes = {**self.defaults, **attributes}

    def flow_init(self, graph: Any) -> None:
        """Validate the flow; raise FlowDefinitionError on misuse."""

    def runtime_init(self, say: Callable[[str], None]) -> None:
        """Once per run, in the runner, before the first task.

        Args:
            say: Prints a warning for the user.
        """

    def runtime_finished(self) -> None:
        """Once per run, in the runner, after the last task (not when the run was interrupted
        or the datastore failed)."""
