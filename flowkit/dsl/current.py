"""``current``: what the running task knows about itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple


class Parallel(NamedTuple):
    """Where a task of a ``@parallel`` gang stands: ``current.parallel`` inside such a step.

    The first four fields are Metaflow's; ``main_port`` is flowkit's addition: a TCP port
    that is free on the main node when the gang starts, for the gang's own rendezvous
    (``torch.distributed``'s ``MASTER_PORT``). ``None`` where flowkit cannot know one.

    Attributes:
        main_ip: Address of the main node (node 0): ``127.0.0.1`` when running locally.
        num_nodes: How many tasks the gang has.
        node_index: This task's position in the gang, 0 for the main node.
        control_task_id: Task id of the main node's task.
        main_port: A port free on the main node for the gang's rendezvous.
    """

    main_ip: str
    num_nodes: int
    node_index: int
    control_task_id: str
    main_port: int | None = None


class Trigger:
    """What started a deployed run: ``current.trigger`` (``None`` for a run started by hand).

    An orchestrator's rule or schedule describes the event in the execution input (Step
    Functions: ``{"trigger": {...}, "parameters": {...}}``); its keys are this object's
    attributes (``current.trigger.type``, ``current.trigger.url`` ...). When it names an
    upstream run (``flow`` and ``run_id``, as ``@trigger_on_finish`` does), :attr:`run` is
    that run, read with the client.

    Args:
        fields: The trigger document.
        load_run: Reads a run by pathspec (given by whoever binds the trigger; the flow
            language does not import the client).
    """

    def __init__(
        self, fields: dict[str, Any], load_run: Callable[[str], Any] | None = None
    ) -> None:
        self._fields = dict(fields)
        self._load_run = load_run

    def __getattr__(self, name: str) -> Any:
        fields = self.__dict__["_fields"]
        if name in fields:
            return fields[name]
        raise AttributeError(
            f"the trigger has no {name!r}; it has: {', '.join(sorted(fields)) or 'nothing'}"
        )

    def to_dict(self) -> dict[str, Any]:
        """The trigger document."""
        return dict(self._fields)

    @property
    def run(self) -> Any:
        """The upstream run the trigger names (client ``Run``), or ``None``."""
        flow = self._fields.get("flow") or self._fields.get("flow_name")
        run_id = self._fields.get("run_id")
        if not flow or not run_id or self._load_run is None:
            return None
        return self._load_run(f"{flow}/{run_id}")

    def __repr__(self) -> str:
        return f"Trigger({self._fields!r})"


class Current:
    """Facts about the task being executed, readable from inside a step.

    Outside a running task every attribute is ``None`` (and ``is_running_flow`` is False).

    Attributes:
        flow_name: Name of the flow class.
        run_id: Id of the run, e.g. ``"12"``.
        step_name: Name of the step being executed.
        task_id: Id of the task within the run.
        retry_count: Attempt number, 0 for the first attempt.
        origin_run_id: For a resumed run, the run it was resumed from.
        username: The user who started the run.
        parameter_names: Names of the flow's parameters.
        tags: Tags of the run.
        project_name: With ``@project``: the project's name.
        branch_name: With ``@project``: ``user.<name>``, ``test.<branch>``, ``prod`` or
            ``prod.<branch>``.
        is_production: With ``@project``: whether the branch is ``prod`` or ``prod.<branch>``.
        project_flow_name: With ``@project``: ``<project>.<branch>.<FlowName>``, the name its
            deployments get.
        parallel: In a ``@parallel`` step, the task's place in its gang (:class:`Parallel`).
        registry: The model and data registry of the run's datastore:
            ``current.registry.register("churn", self.model, metrics={...})`` (see
            ``flowkit.modelreg.stepreg.StepRegistry``).
        trigger: In a run a deployed flow's rule or schedule started, what started it
            (:class:`Trigger`); bound by the orchestrator's task wrapper, like ``parallel``
            by ``@parallel``.
    """

    _FIELDS = (
        "flow_name",
        "run_id",
        "step_name",
        "task_id",
        "retry_count",
        "origin_run_id",
        "username",
        "parameter_names",
        "tags",
        "datastore_root",
        "project_name",
        "branch_name",
        "is_production",
        "project_flow_name",
        "parallel",
        "registry",
        "trigger",
    )

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}

    def _bind(self, **values: Any) -> None:
        """Set the task's facts (called by the runtime in the task process)."""
        unknown = set(values) - set(self._FIELDS)
        if unknown:
            raise TypeError(f"unknown current fields: {sorted(unknown)}")
        self._values.update(values)

    def _clear(self) -> None:
        self._values.clear()

    def __getattr__(self, name: str) -> Any:
        if name in Current._FIELDS:
            return self.__dict__["_values"].get(name)
        raise AttributeError(
            f"current has no attribute {name!r}; available: {', '.join(Current._FIELDS)}"
        )

    @property
    def pathspec(self) -> str | None:
        """``Flow/run/step/task`` of the running task."""
        v = self._values
        if not v.get("task_id"):
            return None
        return f"{v['flow_name']}/{v['run_id']}/{v['step_name']}/{v['task_id']}"

    @property
    def is_running_flow(self) -> bool:
        """True inside a task of a running flow."""
        return bool(self._values.get("task_id"))

    def __repr__(self) -> str:
        return f"<current {self.pathspec or '(not in a task)'}>"


current = Current()


def bind_trigger(fields: dict[str, Any], load_run: Callable[[str], Any] | None = None) -> None:
    """Make ``current.trigger`` a :class:`Trigger` of ``fields`` for the task this process
    runs (called by an orchestrator's task wrapper before the step starts)."""
    current._bind(trigger=Trigger(fields, load_run))
