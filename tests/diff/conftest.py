"""Fixtures of the run diff tests: run a flow as users do, get its client ``Run``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flowtests import FlowRunner

from flowkit.client import ClientContext, Run

RunAndOpen = Callable[..., Run]


@pytest.fixture
def context(run_flow: FlowRunner) -> ClientContext:
    """A client reading the test's private datastore."""
    return ClientContext(str(run_flow.root))


@pytest.fixture
def run_and_open(run_flow: FlowRunner, context: ClientContext) -> RunAndOpen:
    """``run_and_open(flow_file, "--alpha", "3")``: ``python flow.py run ...``, then its Run."""

    def run(flow: Path, *args: str, expect: int = 0, **env: str) -> Run:
        result = run_flow(flow, "run", *args, **env)
        assert result.returncode == expect, result.output
        started = [line for line in result.output.splitlines() if " started (" in line]
        pathspec = started[0].split()[1]  # "Run LinearFlow/3 started (datastore: ...)"
        return context.run(pathspec)

    return run
