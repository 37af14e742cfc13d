"""Flow: finding runs, newest first, latest (successful) run, frames, and its errors."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import flowkit
from flowkit import Flow, Run
from flowkit.client import ClientContext
from flowkit.datastore import ByteStorage, FlowDatastore, RunRecord
from flowkit.errors import DatastoreError, FlowNotFound, PathspecError, RunNotFound


def test_latest_run_and_iteration_newest_first(recorded: Path) -> None:
    flow = Flow("LinearFlow")
    assert flow.id == flow.pathspec == "LinearFlow"
    latest = flow.latest_run
    assert isinstance(latest, Run)
    assert latest.pathspec == "LinearFlow/2"
    assert [run.id for run in flow] == ["2", "1"]
    assert [run.id for run in flow.runs()] == ["2", "1"]
    assert flow["1"] == Run("LinearFlow/1")
    assert "1" in flow and "3" not in flow and "a/b" not in flow


def test_latest_successful_run_skips_failed_runs(make_run: Callable[..., str]) -> None:
    make_run(status="succeeded")
    make_run(status="failed")
    make_run(status=None)  # still running
    flow = Flow("TagFlow")
    assert flow.latest_run.id == "3"
    assert not flow.latest_run.finished
    assert flow.latest_successful_run.id == "1"


def test_latest_successful_run_is_none_when_every_run_failed(
    make_run: Callable[..., str],
) -> None:
    make_run(status="failed")
    assert Flow("TagFlow").latest_successful_run is None


def test_failed_flow_has_a_latest_run_but_no_successful_one(recorded: Path) -> None:
    flow = Flow("CrashFlow")
    assert flow.latest_run.status == "failed"
    assert flow.latest_successful_run is None


@pytest.mark.slow
def test_latest_run_among_ten_thousand(tmp_path: Path) -> None:
    """Correctness only; the timing is in benchmarks/bench_client.py."""
    root = str(tmp_path / "ds")
    store = FlowDatastore(ByteStorage(root), "ManyFlow")
    for _ in range(10_000):
        store.new_run(RunRecord(flow="ManyFlow", run_id="", created_at=1.0, user="ada"))
    context = ClientContext(root)
    assert context.flow("ManyFlow").latest_run.id == "10000"
    # Another runner claimed more ids without raising the hint: still found.
    for run_id in ("10001", "10002"):
        record = RunRecord(flow="ManyFlow", run_id=run_id, created_at=2.0, user="ada")
        store.storage.write(f"ManyFlow/runs/{run_id}/run.json", record.to_json())
    flow = context.flow("ManyFlow")
    assert flow.latest_run.id == "10002"
    newest = flow.runs()
    assert [next(newest).id for _ in range(3)] == ["10002", "10001", "10000"]


def test_runs_skip_gaps(make_run: Callable[..., str], empty_root: Path) -> None:
    for _ in range(3):
        make_run()
    storage = ByteStorage(str(empty_root))
    storage.delete("TagFlow/runs/2/run.json")
    storage.delete("TagFlow/runs/2/end.json")
    assert [run.id for run in Flow("TagFlow")] == ["3", "1"]


def test_to_frame(recorded: Path) -> None:
    frame = Flow("LinearFlow").to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.index) == ["2", "1"]
    assert frame.loc["2", "status"] == "succeeded"
    assert frame.loc["2", "alpha"] == 3 and frame.loc["1", "alpha"] == 2
    assert frame.loc["2", "user"] == "bob"
    assert frame.loc["2", "tags"] == ["prod", "user:bob"]
    assert frame.loc["1", "duration_s"] > 0
    assert str(frame["created_at"].dtype).startswith("datetime64")
    assert list(Flow("LinearFlow").to_frame("prod").index) == ["2"]
    assert len(Flow("LinearFlow").to_frame(limit=1)) == 1


def test_repr_and_html(recorded: Path) -> None:
    flow = Flow("LinearFlow")
    assert repr(flow) == "<Flow LinearFlow: latest run 2>"
    html = flow._repr_html_()
    assert "Flow LinearFlow" in html and "<table>" in html and "prod" in html


def test_unknown_flow_lists_known_flows(recorded: Path) -> None:
    with pytest.raises(FlowNotFound) as info:
        Flow("LinearFlw")
    message = info.value.format_message()
    assert "'LinearFlw'" in message
    assert 'Did you mean "LinearFlow"?' in message
    assert "BranchFlow, CrashFlow, ForeachFlow, LinearFlow" in message
    assert isinstance(info.value, KeyError)


def test_unknown_run_lists_the_latest_ones(recorded: Path) -> None:
    with pytest.raises(RunNotFound) as info:
        Run("LinearFlow/9")
    message = info.value.format_message()
    assert "the flow LinearFlow has no run '9'" in message
    assert "latest runs: 2, 1" in message
    with pytest.raises(FlowNotFound):
        Run("NoSuchFlow/1")


def test_a_datastore_root_that_does_not_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWKIT_DATASTORE_ROOT", str(tmp_path / "missing"))
    with pytest.raises(DatastoreError) as info:
        Flow("AnyFlow")
    message = info.value.format_message()
    assert "there is no datastore at" in message and "missing" in message
    assert "FLOWKIT_DATASTORE_ROOT" in message


def test_without_any_datastore_the_message_says_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLOWKIT_DATASTORE_ROOT", raising=False)
    monkeypatch.setenv("FLOWKIT_CONFIG", str(tmp_path / "none.json"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatastoreError, match=r"no \.flowkit/ folder was found above"):
        Flow("AnyFlow")


def test_the_nearest_flowkit_folder_is_found_like_the_runner_does(
    recorded_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    (project / "notebooks" / "deep").mkdir(parents=True)
    (project / ".flowkit").symlink_to(recorded_root, target_is_directory=True)
    monkeypatch.delenv("FLOWKIT_DATASTORE_ROOT", raising=False)
    monkeypatch.setenv("FLOWKIT_CONFIG", str(tmp_path / "none.json"))
    monkeypatch.chdir(project / "notebooks" / "deep")
    assert Flow("LinearFlow").latest_run.id == "2"
    assert flowkit.get_metadata().endswith(os.path.join("project", ".flowkit"))


def test_set_datastore_root_switches_and_checks(
    recorded_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWKIT_DATASTORE_ROOT", str(tmp_path / "elsewhere"))
    url = flowkit.set_datastore_root(str(recorded_root))
    assert url == flowkit.get_metadata() == ByteStorage(str(recorded_root)).root
    assert Flow("LinearFlow").latest_run.id == "2"
    with pytest.raises(DatastoreError, match=r"chosen with flowkit\.set_datastore_root"):
        flowkit.set_datastore_root(str(tmp_path / "typo"))
    assert flowkit.get_metadata() == url  # unchanged by the failed call
    flowkit.set_datastore_root(None)
    assert flowkit.get_metadata().endswith("elsewhere")


def test_bad_flow_names(recorded: Path) -> None:
    with pytest.raises(PathspecError, match="names a run: use Run"):
        Flow("LinearFlow/1")
    with pytest.raises(PathspecError):
        Flow("")
