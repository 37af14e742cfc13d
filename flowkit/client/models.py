"""Registered models and datasets from a notebook or a step: ``Model("churn@champion").load()``.

The registry itself (:mod:`flowkit.modelreg`) reads and writes the datastore; this module
resolves which datastore (the client's, or the running flow's inside a step), opens the
producing task through the client, and registers artifacts of finished tasks with the
datasets their lineage names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flowkit.client.context import ClientContext, default_context
from flowkit.dsl.current import current
from flowkit.modelreg.drafts import draft_from_task
from flowkit.modelreg.records import Kind, ModelVersion, RegistryEvent
from flowkit.modelreg.store import Registry
from flowkit.settings import load_settings

if TYPE_CHECKING:
    from flowkit.client.task import Task


def open_registry(context: ClientContext | None = None) -> Registry:
    """The registry of the client's datastore (of the running flow's, inside a step).

    Args:
        context: Where to read; the global client choice when omitted.
    """
    return Registry(_context(context).storage(), user=load_settings().user)


def _context(context: ClientContext | None) -> ClientContext:
    if context is not None:
        return context
    chosen = default_context()
    if chosen.datastore_root is None and current.is_running_flow and current.datastore_root:
        # In a step, read the datastore the flow runs on, wherever the client would look.
        return ClientContext(current.datastore_root, chosen_by="the running flow")
    return chosen


class Model:
    """One version of a registered model, named by a reference.

    ``Model("churn")`` and ``Model("churn@latest")`` are the newest version,
    ``Model("churn@v3")`` version 3 and ``Model("churn@champion")`` whatever the alias points
    to when the object is created (it does not follow later moves).

    Args:
        ref: ``NAME``, ``NAME@vN``, ``NAME@latest`` or ``NAME@ALIAS``.
        context: Where to read; the global client choice when omitted.

    Attributes:
        version: The resolved :class:`~flowkit.modelreg.records.ModelVersion` (immutable:
            hash, producing task, code snapshot, inputs, datasets, parameters, metrics ...).

    Raises:
        ModelNotFound: Nothing is registered under the name (with did-you-mean).
        VersionNotFound: No such version, or the alias is not set.
        RegistryError: The name is registered as the other kind.
    """

    _kind: Kind = "model"

    def __init__(self, ref: str, context: ClientContext | None = None) -> None:
        self._context = _context(context)
        self._registry = open_registry(self._context)
        self.version: ModelVersion = self._registry.resolve(ref, self._kind)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.version.ref!r})"

    @property
    def name(self) -> str:
        """The registered name."""
        return self.version.name

    @property
    def number(self) -> int:
        """The version number."""
        return self.version.number

    @property
    def tags(self) -> dict[str, str]:
        """Tags now (those registered, with later ``registry tag`` changes applied)."""
        return self._registry.tags(self.version)

    @property
    def metrics(self) -> dict[str, Any]:
        """Metrics recorded when it was registered."""
        return dict(self.version.metrics)

    @property
    def task(self) -> Task:
        """The task that produced it, through the client."""
        return self._context.task(self.version.pathspec)

    def load(self) -> Any:
        """The value: the artifact blob read from the datastore and deserialized.

        Raises:
            BrokenArtifact: The blob is missing or damaged.
        """
        return self._registry.load(self.version)

    def history(self, alias: str | None = None) -> list[RegistryEvent]:
        """Every alias move of this name (of ``alias`` only), oldest first."""
        return self._registry.history(self.version.name, alias)


class Dataset(Model):
    """One version of a registered dataset (``Dataset("orders@v7").load()``); see
    :class:`Model`."""

    _kind: Kind = "dataset"


def register_artifact(
    name: str,
    task: str | Task,
    artifact: str,
    *,
    kind: Kind = "model",
    metrics: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    description: str = "",
    context: ClientContext | None = None,
) -> ModelVersion:
    """Register an artifact of a finished task as the next version of ``name``.

    Nothing is copied: the version names the artifact's content-addressed blob. It records
    the task, its run's code snapshot and parameters, its parents' artifacts and the datasets
    of the task's catalog lineage (``task.lineage``, when the catalog recorded any).

    Args:
        name: The registered name, e.g. ``"churn"``.
        task: The task, as ``Flow/run/step/task`` or a client :class:`~flowkit.client.Task`.
        artifact: The artifact's name in that task.
        kind: ``"model"`` or ``"dataset"``.
        metrics: Numbers (or strings) to keep with the version.
        tags: Key-value tags.
        description: A sentence.
        context: Where to read and register; the global client choice when omitted.

    Returns:
        The stored version.

    Raises:
        FlowNotFound, RunNotFound: The task does not exist.
        ArtifactNotFound: The task has no such artifact.
        RegistryError: The name is registered as the other kind, or a metric is not a number.
    """
    chosen = _context(context)
    opened = chosen.task(task) if isinstance(task, str) else task
    # task.lineage comes with the data catalog; older clients have none.
    lineage = getattr(opened, "lineage", None) or []
    flow = opened.pathspec.split("/")[0]
    registry = open_registry(chosen)
    draft = draft_from_task(
        chosen.flow_store(flow),
        opened.pathspec,
        artifact,
        name=name,
        kind=kind,
        user=registry.user,
        metrics=metrics,
        tags=tags,
        datasets=[dict(entry) for entry in lineage],
        description=description,
    )
    return registry.add_version(draft)
