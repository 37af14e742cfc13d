"""The executor contract: launch a task, report outcomes, cancel.

The runner owns scheduling, commits and reporting; an executor only knows how to get a task
running somewhere and how to tell when it is over. Local fork, local fresh interpreter and remote
executors (AWS Batch, in ``plugins/``) implement this same interface.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flowkit.datastore.manifest import TaskManifest
from flowkit.runtime.output import LogData
from flowkit.runtime.spec import TaskSpec

if TYPE_CHECKING:
    from flowkit.datastore.flowstore import FlowDatastore
    from flowkit.decorators.base import StepDecorator


@dataclass
class TaskOutcome:
    """A task attempt that is over.

    Attributes:
        spec: What was run.
        manifest: The task's manifest (a failure manifest when the task could not report one).
        logs: Captured streams by name ("stdout", "stderr"), for the runner to store (bytes,
            or a :class:`~flowkit.runtime.output.LogSpool` too large to hold in memory).
        committed: True when the task already wrote its logs and manifest itself.
    """

    spec: TaskSpec
    manifest: TaskManifest
    logs: dict[str, LogData] = field(default_factory=dict)
    committed: bool = False


class Executor(ABC):
    """Runs task attempts. Subclasses implement launching, polling and cancelling."""

    @classmethod
    def preflight(cls, store: FlowDatastore, steps: dict[str, list[StepDecorator]]) -> None:
        """Refuse a run this executor cannot serve, before the run is recorded or any task runs.

        The default accepts everything. A remote executor checks here what would otherwise fail
        in the middle of a run: that its tasks can reach the datastore, that it is configured.

        Args:
            store: The run's datastore.
            steps: The steps that will run on this executor, with their decorators.

        Raises:
            FlowkitError: A subclass saying what is wrong and what to set.
        """
        return  # a hook with a default, not an abstract method: local executors need nothing

    @property
    @abstractmethod
    def active(self) -> int:
        """Number of launched tasks whose outcome has not been reported yet."""

    @abstractmethod
    def launch(self, spec: TaskSpec) -> None:
        """Start running ``spec`` without waiting for it."""

    @abstractmethod
    def poll(self, timeout: float) -> list[TaskOutcome]:
        """Wait up to ``timeout`` seconds and return the tasks that ended meanwhile."""

    @abstractmethod
    def cancel_all(self) -> list[TaskOutcome]:
        """Stop every running task and return their (failed) outcomes."""
