"""Helpers of the data catalog's tests: a copy of ``flows/`` (flow, catalog, data) per test."""

from __future__ import annotations

import shutil
from pathlib import Path

from flowtests import FlowRunner

FLOWS = Path(__file__).parent / "flows"
CLI = ("-c", "from flowkit.cli.main import main; main()")


def episode(tmp_path: Path) -> tuple[Path, FlowRunner]:
    """Copy the flow, its catalog and data into ``tmp_path/work``; a runner working there."""
    work = tmp_path / "work"
    shutil.copytree(FLOWS, work, ignore=shutil.ignore_patterns("__pycache__"))
    runner = FlowRunner(tmp_path / "datastore", work)
    runner.env = {
        k: v for k, v in runner.env.items() if not k.startswith(("FLOWKIT_PROFILE", "FLOWKIT_CAT"))
    }
    return work, runner
