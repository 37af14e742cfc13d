"""What happens after a task attempt fails: retry it, catch the failure, or fail the run.

The verdict depends on the failure's recorded ``kind`` (see ``FailureKind``), never on the
text of its message: a task a person stopped (``interrupted``, ``killed``) is neither retried nor
caught; every other kind is retried while ``@retry`` allows, then caught by ``@catch``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from flowkit.datastore.manifest import STOPPED_BY_USER, TaskManifest
from flowkit.decorators.builtin import CaughtException
from flowkit.errors import FlowRuntimeError
from flowkit.runtime.gang import is_gang_task
from flowkit.runtime.spec import TaskSpec
from flowkit.runtime.splits import elements_of, store_splits
from flowkit.runtime.task import RunContext


@dataclass
class Decision:
    """The verdict on a failed attempt: exactly one of the fields is set."""

    retry: TaskSpec | None = None
    delay: float = 0.0
    caught: TaskManifest | None = None


def _stopped_by_user(manifest: TaskManifest) -> bool:
    return manifest.failure is not None and manifest.failure.kind in STOPPED_BY_USER


class FailurePolicy:
    """Applies ``@retry`` and ``@catch`` to failed attempts.

    Args:
        ctx: The run (its decorators, graph and datastore).
    """

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx

    def timeout(self, step: str) -> float | None:
        """The tightest ``@timeout`` of ``step``, in seconds."""
        limits = [t for d in self.ctx.decorators.get(step, []) if (t := d.timeout_seconds())]
        return min(limits) if limits else None

    def decide(self, spec: TaskSpec, manifest: TaskManifest) -> Decision:
        """Retry while attempts remain, then catch if the step has ``@catch``, else fail."""
        if is_gang_task(spec):
            return Decision()  # a gang fails as a whole; a resume runs it again
        decorators = self.ctx.decorators.get(spec.step, [])
        retries = max((d.retries() for d in decorators), default=0)
        if spec.attempt < retries and not _stopped_by_user(manifest):
            delay = max((d.retry_delay() for d in decorators), default=0.0)
            return Decision(retry=dataclasses.replace(spec, attempt=spec.attempt + 1), delay=delay)
        var = next((v for d in decorators if (v := d.catch_var())), None)
        if var is None or _stopped_by_user(manifest):
            return Decision()
        return Decision(caught=self._caught(spec, manifest, var))

    def _caught(self, spec: TaskSpec, manifest: TaskManifest, var: str) -> TaskManifest:
        """The failed attempt, turned into a success that carries the exception in ``var``."""
        node = self.ctx.graph[spec.step]
        refs = dict(spec.params)
        if spec.inputs is not None and not node.is_join:
            refs.update(spec.inputs.artifacts)
        failure = manifest.failure
        caught = CaughtException(
            failure.type if failure else "Exception",
            failure.message if failure else "",
            failure.traceback if failure else "",
            manifest.pathspec,
        )
        refs[var] = self.ctx.store.save_artifact(caught, var)
        count = None
        items_var: str | None = None
        splits = None
        if node.kind == "foreach":
            items_var = str(node.foreach_var)
            if items_var not in refs:
                raise FlowRuntimeError(
                    f"@catch on foreach step {node.name!r}: self.{items_var} was not set before "
                    "the failure, so there is nothing to fan out over",
                    hint=f"set self.{items_var} in an earlier step",
                )
            items = self.ctx.store.load_artifact(refs[items_var])
            count = len(items)
            elements = elements_of(items, count, f"step {node.name!r}")
            splits = store_splits(self.ctx.store, elements, items_var)
        return dataclasses.replace(
            manifest,
            status="succeeded",
            artifacts=refs,
            next_steps=list(node.out),
            foreach_count=count,
            foreach_splits=splits,
            foreach_var=items_var,
            caught=var,
        )
