"""Fixtures shared by every test folder; the helpers themselves live in ``flowtests.py``."""

from __future__ import annotations

from pathlib import Path

import pytest
from flowtests import SHAPE_CASES, FlowRunner, Shape


@pytest.fixture
def run_flow(tmp_path: Path) -> FlowRunner:
    """``run_flow(path, "run", "--x", "1")`` runs a flow; ``.store(name)`` opens its datastore."""
    return FlowRunner(tmp_path / "datastore", tmp_path)


@pytest.fixture(params=sorted(SHAPE_CASES))
def shape(request: pytest.FixtureRequest) -> Shape:
    """Every DAG shape in turn (linear, branch, foreach, nested foreach, switch)."""
    return SHAPE_CASES[request.param]
