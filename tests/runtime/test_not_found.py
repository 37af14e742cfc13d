"""Not-found is an explicit error: a ``KeyError`` from a bug is never taken for a missing task."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from flowtests import FLOWS

from flowkit.datastore import ByteStorage, FlowDatastore
from flowkit.errors import RunNotFound
from flowkit.runtime.entry import spec_from_args


class _BuggyStorage(ByteStorage):
    """A backend with a bug: reading a task manifest raises a plain ``KeyError``."""

    def read(self, key, **kwargs):
        if "/start/" in key:
            raise KeyError("a bug inside the backend")
        return super().read(key, **kwargs)


@pytest.fixture
def recorded_linear(run_flow):
    result = run_flow(FLOWS / "valid" / "linear.py", "run")
    assert result.returncode == 0, result.output
    return run_flow.root


def test_a_keyerror_bug_is_not_reported_as_a_missing_parent(recorded_linear):
    store = FlowDatastore(_BuggyStorage(str(recorded_linear)), "LinearFlow")
    ctx = SimpleNamespace(store=store, run_id="1")
    with pytest.raises(KeyError, match="a bug inside the backend") as caught:
        spec_from_args(ctx, "middle", "2", 0, ["1/start/1"], "")  # type: ignore[arg-type]
    assert not isinstance(caught.value, RunNotFound)


def test_a_really_missing_parent_is_reported_as_not_found(recorded_linear):
    store = FlowDatastore(ByteStorage(str(recorded_linear)), "LinearFlow")
    ctx = SimpleNamespace(store=store, run_id="1")
    with pytest.raises(RunNotFound, match="parent task 1/start/99 has no manifest"):
        spec_from_args(ctx, "middle", "2", 0, ["1/start/99"], "")  # type: ignore[arg-type]
