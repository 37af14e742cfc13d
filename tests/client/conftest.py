"""A clean client state per test, and runs written straight through the datastore.

The runs made by real flows (``recorded`` / ``recorded_root``) come from ``tests/conftest.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import flowkit
from flowkit.datastore import ByteStorage, FlowDatastore, RunRecord


@pytest.fixture(autouse=True)
def fresh_client_state() -> Iterator[None]:
    """Every test starts and ends with no namespace and an automatic datastore root."""
    flowkit.namespace(None)
    flowkit.set_datastore_root(None)
    yield
    flowkit.namespace(None)
    flowkit.set_datastore_root(None)


@pytest.fixture
def empty_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh local datastore root the client finds; write runs into it with ``make_run``."""
    root = tmp_path / "ds"
    monkeypatch.setenv("FLOWKIT_DATASTORE_ROOT", str(root))
    return root


@pytest.fixture
def make_run(empty_root: Path) -> Callable[..., str]:
    """``make_run(flow="TagFlow", user="ada", tags=[], status="succeeded")`` -> run id.

    Writes a run record straight through the datastore (no task), as the runner would.
    """

    def make(
        flow: str = "TagFlow",
        user: str = "ada",
        tags: list[str] | None = None,
        status: str | None = "succeeded",
    ) -> str:
        store = FlowDatastore(ByteStorage(str(empty_root)), flow)
        record = RunRecord(
            flow=flow, run_id="", created_at=time.time(), user=user, tags=list(tags or [])
        )
        run_id = store.new_run(record)
        if status is not None:
            store.finish_run(run_id, status)  # type: ignore[arg-type]
        return run_id

    return make
