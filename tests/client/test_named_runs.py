"""Runs an orchestrator started under its own id (``airflow-<dag run id>``, via ``claim_run``)
are listed by the client with the numbered runs, newest first by start time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from flowkit import Flow
from flowkit.datastore import ByteStorage, FlowDatastore, RunRecord
from flowkit.errors import DatastoreError


def _record(created_at: float) -> RunRecord:
    return RunRecord(flow="TagFlow", run_id="", created_at=created_at, user="ada")


def test_named_runs_are_listed_by_start_time(empty_root: Path) -> None:
    store = FlowDatastore(ByteStorage(str(empty_root)), "TagFlow")
    now = time.time()
    assert store.claim_run(_record(now - 30), "airflow-a")
    first = store.new_run(_record(now - 20))
    assert store.claim_run(_record(now - 10), "airflow-b")
    second = store.new_run(_record(now))
    assert not store.claim_run(_record(now), "airflow-b")  # a second attempt writes nothing
    store.finish_run("airflow-b", "succeeded")
    assert store.named_run_ids() == ["airflow-a", "airflow-b"]
    flow = Flow("TagFlow")
    assert [r.id for r in flow.runs()] == [second, "airflow-b", first, "airflow-a"]
    assert flow.latest_run.id == second
    assert flow.latest_successful_run.id == "airflow-b"
    assert flow["airflow-a"].id == "airflow-a"


def test_only_named_runs(empty_root: Path) -> None:
    store = FlowDatastore(ByteStorage(str(empty_root)), "TagFlow")
    assert store.claim_run(_record(time.time()), "airflow-x")
    assert Flow("TagFlow").latest_run.id == "airflow-x"
    with pytest.raises(DatastoreError, match="plain number"):
        store.claim_run(_record(time.time()), "12")
