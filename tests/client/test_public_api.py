"""The client's public surface: constructors without private arguments, another datastore read
through a :class:`ClientContext`, and ``Metaflow()`` listing the flows."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest
from flowtests import SHAPE_CASES

import flowkit
from flowkit.client import ClientContext, DataArtifact, Flow, Metaflow, Run, Step, Task
from flowkit.errors import DatastoreError

SHAPE_FLOWS = sorted(shape.flow for shape in SHAPE_CASES.values())


@pytest.mark.parametrize("cls", [Flow, Run, Step, Task, DataArtifact, Metaflow, ClientContext])
def test_constructors_show_no_private_parameter(cls: type) -> None:
    parameters = inspect.signature(cls).parameters
    assert not [name for name in parameters if name.startswith("_")]


def test_a_context_reads_another_datastore_than_the_global_one(
    recorded_root: Path, empty_root: Path
) -> None:
    # The global choice (FLOWKIT_DATASTORE_ROOT) points at a datastore with nothing in it.
    with pytest.raises(DatastoreError):
        Flow("LinearFlow")
    other = ClientContext(str(recorded_root))
    run = other.run("LinearFlow/2")
    assert run.data.result["x"] == 6
    assert other.flow("LinearFlow")["2"] == run
    task = run["b"].task
    assert task is not None
    assert other.step(f"{run.pathspec}/b") == task.parent
    assert other.task(task.pathspec).data.x == 6
    assert other.artifact(f"{task.pathspec}/x").data == 6
    # Objects reached from one another keep reading the context's datastore.
    assert run.parent.latest_run == run
    assert [flow.id for flow in other.flows] == sorted([*SHAPE_FLOWS, "CrashFlow"])


def test_a_context_applies_its_own_namespace(recorded_root: Path) -> None:
    prod = ClientContext(str(recorded_root), namespace="prod")
    assert [run.pathspec for run in prod.flow("LinearFlow")] == ["LinearFlow/2"]
    assert [flow.id for flow in prod.flows] == ["LinearFlow"]
    assert flowkit.get_namespace() is None  # the global namespace is untouched


def test_metaflow_lists_the_flows_of_the_current_datastore(recorded: Path) -> None:
    flows = flowkit.Metaflow().flows
    assert all(isinstance(flow, Flow) for flow in flows)
    assert [flow.id for flow in flows] == sorted([*SHAPE_FLOWS, "CrashFlow"])
    assert list(Metaflow()) == flows
    assert flows[0].latest_run is not None


def test_metaflow_follows_the_namespace_and_the_datastore_root(
    recorded_root: Path, empty_root: Path
) -> None:
    assert Metaflow().flows == []  # an empty datastore has no flows, and is no error
    flowkit.set_datastore_root(str(recorded_root))
    flowkit.namespace("prod")
    assert [flow.id for flow in Metaflow()] == ["LinearFlow"]
    flowkit.namespace("user:nobody")
    assert Metaflow().flows == []


def test_metaflow_export_keeps_import_flowkit_lazy() -> None:
    code = (
        "import sys, flowkit; assert 'flowkit.client' not in sys.modules; "
        "from flowkit import Metaflow; print(Metaflow.__module__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "flowkit.client.metaflow"
