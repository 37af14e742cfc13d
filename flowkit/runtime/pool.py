"""Several executors behind one interface: each step goes to the executor its decorators name.

Local tasks are limited by ``--max-workers``; a remote executor sets its own limit
(``max_active``), so a thousand Batch jobs do not wait for two local cores.
"""

from __future__ import annotations

from collections.abc import Callable

from flowkit.runtime.executor import Executor, TaskOutcome
from flowkit.runtime.spec import TaskSpec

LOCAL = "local"


class ExecutorPool:
    """Routes tasks to executors created on first use.

    Args:
        local: The local executor (fork or spawn).
        max_workers: Limit on tasks running locally at once.
        executor_of: The executor name for a step (``"local"`` unless a decorator says otherwise).
        make: Builds the executor for a name other than ``"local"``.
    """

    def __init__(
        self,
        local: Executor,
        max_workers: int,
        executor_of: Callable[[str], str],
        make: Callable[[str], Executor],
    ) -> None:
        self._executors: dict[str, Executor] = {LOCAL: local}
        self._limits = {LOCAL: max_workers}
        self._executor_of = executor_of
        self._make = make

    def _get(self, name: str) -> Executor:
        if name not in self._executors:
            executor = self._make(name)
            self._executors[name] = executor
            self._limits[name] = int(getattr(executor, "max_active", 10_000))
        return self._executors[name]

    @property
    def active(self) -> int:
        """Tasks running on any executor."""
        return sum(e.active for e in self._executors.values())

    def has_room(self, spec: TaskSpec) -> bool:
        """Whether the executor for ``spec`` can take one more task now."""
        name = self._executor_of(spec.step)
        return self._get(name).active < self._limits[name]

    def executor_for(self, step: str) -> tuple[Executor, int]:
        """The executor that runs ``step``'s tasks, and its limit of tasks running at once."""
        name = self._executor_of(step)
        return self._get(name), self._limits[name]

    def launch(self, spec: TaskSpec) -> None:
        """Start ``spec`` on its executor."""
        self._get(self._executor_of(spec.step)).launch(spec)

    def poll(self, timeout: float) -> list[TaskOutcome]:
        """Outcomes from every executor; waits on the local one, checks the others."""
        busy = [e for e in self._executors.values() if e.active]
        remote_busy = any(e.active for n, e in self._executors.items() if n != LOCAL)
        outcomes: list[TaskOutcome] = []
        for name, executor in self._executors.items():
            if name == LOCAL:
                outcomes += executor.poll(min(timeout, 0.2) if remote_busy else timeout)
            elif executor.active:
                outcomes += executor.poll(0.0)
        if not busy:
            outcomes += self._executors[LOCAL].poll(timeout)
        return outcomes

    def cancel_all(self) -> list[TaskOutcome]:
        """Stop every task on every executor."""
        outcomes: list[TaskOutcome] = []
        for executor in self._executors.values():
            outcomes += executor.cancel_all()
        return outcomes

    def close(self) -> None:
        """Let executors release what they hold (threads, clients)."""
        for executor in self._executors.values():
            close = getattr(executor, "close", None)
            if close is not None:
                close()
