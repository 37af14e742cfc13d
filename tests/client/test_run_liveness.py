"""``Run.status`` tells a live run from a lost one by the lease its runner renews."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from flowkit.client import ClientContext, Run
from flowkit.datastore import ByteStorage, FlowDatastore
from flowkit.datastore.manifest import RunRecord


@pytest.fixture
def store(tmp_path: Path) -> FlowDatastore:
    storage = ByteStorage(str(tmp_path / "datastore"))
    storage.check()
    return FlowDatastore(storage, "LiveFlow")


def _run(store: FlowDatastore, run_id: str) -> Run:
    return ClientContext(store.storage.root).run(f"LiveFlow/{run_id}")


def _new_run(store: FlowDatastore, age: float = 0.0) -> str:
    return store.new_run(RunRecord("LiveFlow", "", time.time() - age, "ada"))


def test_a_renewed_lease_keeps_a_run_running_and_an_expired_one_makes_it_lost(store):
    run_id = _new_run(store, age=3600)
    store.renew_lease(run_id, expiry=60)
    run = _run(store, run_id)
    assert run.status == "running" and not run.finished and run.finished_at is None
    lease = store.renew_lease(run_id, expiry=-1)  # a renewal whose validity has run out
    assert run.status == "lost" and run.finished
    assert run.finished_at is not None
    assert run.finished_at.timestamp() == pytest.approx(lease.renewed_at)
    assert run.to_dict()["status"] == "lost"
    assert ClientContext(store.storage.root).flow("LiveFlow").to_frame()["status"].tolist() == [
        "lost"
    ]
    store.finish_run(run_id, "killed")  # an end record always wins over the lease
    assert run.status == "killed"


def test_a_run_without_a_lease_is_judged_by_its_start(store, monkeypatch):
    # Recorded by a flowkit without leases, or its runner died before the first renewal.
    monkeypatch.setenv("FLOWKIT_HEARTBEAT_EXPIRY", "60")
    fresh = _new_run(store)
    old = _new_run(store, age=3600)
    assert _run(store, fresh).status == "running"
    assert _run(store, old).status == "lost"


def test_an_unreadable_lease_counts_as_none(store, monkeypatch):
    monkeypatch.setenv("FLOWKIT_HEARTBEAT_EXPIRY", "60")
    run_id = _new_run(store)
    store.storage.write(f"LiveFlow/runs/{run_id}/heartbeat.json", b"not json")
    assert store.read_lease(run_id) is None
    assert _run(store, run_id).status == "running"
