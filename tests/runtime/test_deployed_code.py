"""The job side of a deployed flow: its code snapshot checked out and its flow class loaded
(what the Batch bootstrap and the Airflow and Step Functions tasks do before running a task)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowkit.extend import (
    FlowDatastore,
    FlowkitError,
    build_snapshot,
    checkout_deployed_code,
    flow_parameters,
    load_deployed_flow,
    load_graph,
    open_flow_datastore,
)

FLOW = """
from flowkit import FlowSpec, Parameter, step
from helper import GREETING


class DeployedFlow(FlowSpec):
    alpha = Parameter("alpha", default=1)

    @step
    def start(self):
        self.greeting = GREETING
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    raise SystemExit("the flow's command line must not start when the class is loaded")
"""


@pytest.fixture
def deployed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[FlowDatastore, str]]:
    project = tmp_path / "project"
    project.mkdir()
    (project / "flow.py").write_text(FLOW)
    (project / "helper.py").write_text("GREETING = 'hello from the snapshot'\n")
    store = open_flow_datastore(str(tmp_path / "store"), "DeployedFlow")
    code = store.content.put([build_snapshot(project / "flow.py").data])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield store, code
    for name in ("flowkit_deployed_flow", "helper"):
        sys.modules.pop(name, None)


def test_the_flow_class_is_loaded_from_the_extracted_snapshot(
    deployed: tuple[FlowDatastore, str], tmp_path: Path
) -> None:
    store, code = deployed
    workdir = tmp_path / "work"
    workdir.mkdir()
    flow_cls = load_deployed_flow(store, code, "flow.py", "DeployedFlow", workdir)
    assert flow_cls.__name__ == "DeployedFlow"
    assert Path.cwd() == workdir.resolve()
    assert sys.path[0] == str(workdir)
    assert sys.modules["helper"].GREETING == "hello from the snapshot"
    assert [node.name for node in load_graph(flow_cls)] == ["start", "end"]
    assert list(flow_parameters(flow_cls)) == ["alpha"]


def test_a_flow_the_file_does_not_define_is_an_error_with_a_fix(
    deployed: tuple[FlowDatastore, str], tmp_path: Path
) -> None:
    store, code = deployed
    workdir = tmp_path / "work"
    workdir.mkdir()
    with pytest.raises(FlowkitError, match="defines no flow 'OtherFlow'") as caught:
        load_deployed_flow(store, code, "flow.py", "OtherFlow", workdir)
    assert "Fix:" in str(caught.value)


def test_a_snapshot_past_the_size_limit_is_not_checked_out(
    deployed: tuple[FlowDatastore, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, code = deployed
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.setenv("FLOWKIT_CODE_MAX_MB", "0.0001")  # 104 bytes: less than flow.py
    with pytest.raises(FlowkitError, match="expands to more than"):
        checkout_deployed_code(store, code, workdir)
    assert Path.cwd() == tmp_path.resolve()
