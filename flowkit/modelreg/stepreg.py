"""``current.registry`` inside a running task: register what the step produced."""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from flowkit.datastore.flowstore import FlowDatastore
from flowkit.modelreg.drafts import draft_from_value
from flowkit.modelreg.records import Kind, ModelVersion
from flowkit.modelreg.store import Registry

#: Set by ``flowkit reproduce`` in the runs it makes: registering is then a no-op.
REPRODUCING_ENV = "FLOWKIT_REPRODUCING"


class StepRegistry:
    """The registry as a running task sees it (``current.registry``).

    Args:
        store: The running flow's datastore.
        pathspec: The running task, ``Flow/run/step/task``.
        parents: Pathspecs of the tasks it ran after (its possible inputs).
        user: Who started the run.

    Attributes:
        registry: The whole :class:`~flowkit.modelreg.store.Registry` of the datastore, to
            read versions or move aliases from a step.
    """

    def __init__(
        self, store: FlowDatastore, pathspec: str, parents: Sequence[str], user: str
    ) -> None:
        self._store = store
        self._pathspec = pathspec
        self._parents = list(parents)
        self.registry = Registry(store.storage, user=user)

    def __repr__(self) -> str:
        return f"<current.registry of {self._pathspec}>"

    def register(
        self,
        name: str,
        value: Any,
        *,
        kind: Kind = "model",
        metrics: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        artifact: str | None = None,
        description: str = "",
    ) -> ModelVersion:
        """Register ``value`` as the next version of ``name``, produced by this task.

        The value is stored now, as it is at this call (content-addressed: keeping it as an
        artifact too costs nothing more). The version records this task, the run's code
        snapshot and parameters, and the artifacts of the tasks this one ran after.

        Args:
            name: The registered name, e.g. ``"churn"``.
            value: The model or dataset, usually an artifact such as ``self.model``.
            kind: ``"model"`` or ``"dataset"``.
            metrics: Numbers (or strings) to keep with the version.
            tags: Key-value tags.
            artifact: The artifact's name in this task; found by identity among the step's
                ``self`` attributes when omitted (``None`` if it is not one).
            description: A sentence.

        Returns:
            The stored version (``.number``, ``.ref`` such as ``"churn@v3"``). In a run made
            by ``flowkit reproduce`` (``FLOWKIT_REPRODUCING`` set) nothing is registered: the
            version is returned unsaved, with number 0, so re-running a past run never adds
            versions to the registry.

        Raises:
            UnpicklableArtifact: The value cannot be serialized.
            RegistryError: The name is taken by the other kind, or a metric is not a number.
        """
        if artifact is None:
            artifact = _artifact_name(value, inspect.currentframe())
        draft = draft_from_value(
            self._store,
            value,
            self._pathspec,
            self._parents,
            artifact,
            name=name,
            kind=kind,
            user=self.registry.user,
            metrics=metrics,
            tags=tags,
            description=description,
        )
        reproducing = os.environ.get(REPRODUCING_ENV)
        if reproducing:
            print(
                f"flowkit: {name} not registered: this run reproduces {reproducing}",
                file=sys.stderr,
            )
            return draft
        return self.registry.add_version(draft)


def _artifact_name(value: Any, frame: Any) -> str | None:
    """The attribute of the calling step's ``self`` that holds ``value``, if any.

    The step method is the caller, and its ``self`` is the flow object whose attributes become
    the task's artifacts; asking the frame saves users from naming the artifact twice.
    """
    caller = frame.f_back if frame is not None else None
    flow = caller.f_locals.get("self") if caller is not None else None
    attributes = getattr(flow, "__dict__", {})
    for key, held in attributes.items():
        if held is value and not key.startswith("_"):
            return str(key)
    return None
