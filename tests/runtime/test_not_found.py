"""Not-found is an explicit error: a ``KeyError`` from a bug is never taken for a missing task."""

from __future__ import annotations

import pytest
from flowtests import FLOWS

from flowkit.datastore import ByteStorage, FlowDatastore
from flowkit.errors import RunNotFound
from flowkit.runtime.spec import ParentRef
from flowkit.runtime.task import parent_manifests


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
    with pytest.raises(KeyError, match="a bug inside the backend") as caught:
        parent_manifests(store, [ParentRef("LinearFlow", "1", "start", "1")])
    assert not isinstance(caught.value, RunNotFound)


def test_a_really_missing_parent_is_reported_as_not_found(recorded_linear):
    store = FlowDatastore(ByteStorage(str(recorded_linear)), "LinearFlow")
    with pytest.raises(RunNotFound, match="parent task 1/start/99 has no manifest"):
        parent_manifests(store, [ParentRef("LinearFlow", "1", "start", "99")])
