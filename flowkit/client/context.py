"""Where the client reads from, and which runs it shows.

The datastore root is found the way the runner finds it (``FLOWKIT_DATASTORE_ROOT`` or the config
file, else the nearest ``.flowkit/`` folder above the working directory), unless a notebook
chooses one with :func:`set_datastore_root`. It is looked up again for every object created from
a pathspec, so ``os.chdir`` or a changed environment variable takes effect, while the objects
reached from one another keep the root they were opened with.

The namespace rule: **a user sees every run unless a namespace is set.** ``namespace("user:ada")``
(or any tag, e.g. ``namespace("prod")``) restricts listings and ``latest_run`` to runs that carry
that tag, and opening another run by its pathspec raises :class:`~flowkit.errors.NamespaceMismatch`.
``namespace(None)`` (or :func:`default_namespace`) shows every run again. Every run carries the
system tag ``user:<name of who started it>``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from flowkit.datastore.flowstore import FlowDatastore, flow_names
from flowkit.datastore.storage import ByteStorage
from flowkit.errors import DatastoreError, FlowNotFound, did_you_mean
from flowkit.settings import load_settings, resolve_datastore_root

if TYPE_CHECKING:
    from flowkit.client.artifacts import DataArtifact
    from flowkit.client.flow import Flow
    from flowkit.client.run import Run
    from flowkit.client.step import Step
    from flowkit.client.task import Task


class ClientContext:
    """A datastore and a namespace to read from, without changing the global choice.

    ``Flow("F")``, ``Run("F/12")`` and the other client classes read the datastore chosen
    globally (:func:`set_datastore_root`, :func:`namespace`). To read another one side by side,
    open objects through a context::

        team = ClientContext("s3://bucket/flowkit")
        team.run("TrainFlow/12").data.model
        [flow.id for flow in team.flows]

    Objects reached from these (a run's steps, a step's tasks) read the same datastore.

    Args:
        datastore_root: A folder or fsspec URL; ``None`` finds it like the runner does.
        namespace: Only runs with this tag are visible; ``None`` shows every run.
        chosen_by: How ``datastore_root`` was chosen, for error messages (e.g. a flag's name).
    """

    def __init__(
        self,
        datastore_root: str | None = None,
        namespace: str | None = None,
        *,
        chosen_by: str = "flowkit.set_datastore_root()",
    ) -> None:
        self.datastore_root = datastore_root
        self.namespace = namespace
        self.chosen_by = chosen_by
        self._storages: dict[str, ByteStorage] = {}
        self._flows: dict[tuple[str, str], FlowDatastore] = {}

    def __repr__(self) -> str:
        return f"ClientContext({self.datastore_root!r}, namespace={self.namespace!r})"

    # -- client objects read through this context -----------------------------------------

    def flow(self, name: str) -> Flow:
        """The flow ``name`` in this datastore; see :class:`~flowkit.client.Flow`."""
        from flowkit.client.flow import Flow

        return Flow._open(self, name)

    def run(self, pathspec: str) -> Run:
        """The run ``Flow/run`` in this datastore; see :class:`~flowkit.client.Run`."""
        from flowkit.client.run import Run

        return Run._open(self, pathspec)

    def step(self, pathspec: str) -> Step:
        """The step ``Flow/run/step`` in this datastore; see :class:`~flowkit.client.Step`."""
        from flowkit.client.step import Step

        return Step._open(self, pathspec)

    def task(self, pathspec: str, attempt: int | None = None) -> Task:
        """The task ``Flow/run/step/task`` in this datastore; see :class:`~flowkit.client.Task`."""
        from flowkit.client.task import Task

        return Task._open(self, pathspec, attempt)

    def artifact(self, pathspec: str) -> DataArtifact:
        """The artifact ``Flow/run/step/task/name``; see :class:`~flowkit.client.DataArtifact`."""
        from flowkit.client.artifacts import DataArtifact

        return DataArtifact._open(self, pathspec)

    @property
    def flows(self) -> list[Flow]:
        """Every flow with a run in this datastore (and in the namespace, when one is set).

        Sorted by name. An empty or missing datastore has no flows. With a namespace set, a
        flow is listed when one of its runs carries the namespace's tag.
        """
        from flowkit.client.flow import Flow

        storage = self.storage()
        flows = [Flow._build(self, self.flow_store(name)) for name in flow_names(storage)]
        if self.namespace is None:
            return flows
        return [flow for flow in flows if flow.latest_run is not None]

    # -- where it reads ------------------------------------------------------------------

    def root(self) -> str:
        """The datastore root to read, as given or found now.

        Raises:
            ConfigError: The configuration cannot be read.
        """
        if self.datastore_root is not None:
            return self.datastore_root
        return resolve_datastore_root(load_settings())

    def storage(self) -> ByteStorage:
        """The byte storage of the current root (opened once per root)."""
        root = self.root()
        if root not in self._storages:
            self._storages[root] = ByteStorage(root)
        return self._storages[root]

    def flow_store(self, flow_name: str) -> FlowDatastore:
        """The datastore of one flow under the current root."""
        storage = self.storage()
        key = (storage.root, flow_name)
        if key not in self._flows:
            self._flows[key] = FlowDatastore(storage, flow_name)
        return self._flows[key]

    def heartbeat_expiry(self) -> float:
        """Seconds after its start that a run without a lease still counts as running."""
        return load_settings().heartbeat_expiry

    def user(self) -> str:
        """Who is using the client, recorded with tag changes."""
        return load_settings().user

    def check_root(self, storage: ByteStorage) -> None:
        """Raise a clear error when nothing at all is stored under the root.

        Raises:
            DatastoreError: The root does not exist or is empty; says how it was chosen.
        """
        if storage.list(""):
            return
        raise DatastoreError(
            f"there is no datastore at {storage.root}: nothing is stored there "
            f"({self._why_this_root()})",
            hint="run a flow first, or point the client at the right place with "
            "FLOWKIT_DATASTORE_ROOT or flowkit.set_datastore_root(...)",
        )

    def flow_not_found(self, storage: ByteStorage, flow_name: str) -> DatastoreError:
        """The error for a flow without runs: a missing root, or a list of known flows."""
        self.check_root(storage)
        known = flow_names(storage)
        listing = ", ".join(known) if known else "none"
        return FlowNotFound(
            f"no run of a flow named {flow_name!r} is recorded in {storage.root}."
            + did_you_mean(flow_name, known),
            hint=f"use one of the flows with runs there: {listing}",
        )

    def _why_this_root(self) -> str:
        if self.datastore_root is not None:
            return f"chosen with {self.chosen_by}"
        settings = load_settings()
        if settings.datastore_root:
            return "from FLOWKIT_DATASTORE_ROOT or the config file"
        return f"no .flowkit/ folder was found above the working directory {Path.cwd()}"


_DEFAULT = ClientContext()


def default_context() -> ClientContext:
    """The context used by objects created without one (what notebooks use)."""
    return _DEFAULT


def namespace(ns: str | None) -> str | None:
    """Show only runs tagged ``ns`` (e.g. ``"user:ada"``, ``"prod"``); ``None`` shows all.

    Args:
        ns: A tag, or ``None`` for every run (the default).

    Returns:
        The namespace now in effect.
    """
    _DEFAULT.namespace = ns
    return ns


def get_namespace() -> str | None:
    """Return the namespace in effect (``None``: every run is visible)."""
    return _DEFAULT.namespace


def default_namespace() -> str | None:
    """Go back to flowkit's default namespace, ``None``: every run is visible.

    Returns:
        ``None``.
    """
    return namespace(None)


def set_datastore_root(root: str | None) -> str | None:
    """Read runs from another datastore; ``None`` goes back to finding it automatically.

    Args:
        root: A folder or fsspec URL, e.g. ``"/data/team/.flowkit"`` or ``"s3://bucket/fk"``.

    Returns:
        The normalized URL of the root, or ``None`` when automatic.

    Raises:
        DatastoreError: Nothing is stored at ``root``.
    """
    context = ClientContext(root, _DEFAULT.namespace)
    if root is None:
        _DEFAULT.datastore_root = None
        return None
    storage = context.storage()
    context.check_root(storage)
    _DEFAULT.datastore_root = root
    return storage.root


def inspect_spin(folder: str | os.PathLike[str] = ".") -> str:
    """Read the spins persisted in ``folder`` (``spin STEP --persist``) instead of real runs.

    Each persisted spin is a one-task run in ``folder/.flowkit_spin``, so afterwards
    ``Flow("TrainFlow").latest_run["train"].task["model"].data`` is the latest spin's output.
    ``set_datastore_root(None)`` goes back to the real runs.

    Args:
        folder: The folder ``spin`` was started in.

    Returns:
        The URL of the spin area now read.

    Raises:
        DatastoreError: ``folder`` holds no persisted spin.
    """
    from flowkit.datastore.spinarea import SPIN_FOLDER, spin_root

    root = spin_root(folder)
    if not Path(root).is_dir():
        raise DatastoreError(
            f"{folder} holds no persisted spin (no {SPIN_FOLDER} folder)",
            hint="spin a step with --persist in that folder first: python FLOW.py spin STEP "
            "--persist",
        )
    return str(set_datastore_root(root))


def get_metadata() -> str:
    """Return the URL of the datastore the client reads (where runs are recorded)."""
    return _DEFAULT.storage().root
