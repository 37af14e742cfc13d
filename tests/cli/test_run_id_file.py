"""``run --run-id-file`` / ``resume --run-id-file``: the run id, written once it is claimed."""

from __future__ import annotations

import json
from pathlib import Path

from flowtests import FLOWS

COUNTING = FLOWS / "runner" / "counting.py"


def test_run_and_resume_write_the_claimed_run_id(run_flow, tmp_path: Path) -> None:
    id_file = tmp_path / "run.json"
    result = run_flow(COUNTING, "run", "--run-id-file", str(id_file), COUNTING_FAIL="1")
    assert result.returncode == 1, result.output
    info = json.loads(id_file.read_text())
    assert info["flow"] == "CountingFlow"
    assert info["run_id"] == "1"
    assert info["datastore_root"].endswith("datastore")
    assert not Path(f"{id_file}.partial").exists()  # written aside, then renamed

    resumed = tmp_path / "resumed.json"
    result = run_flow(COUNTING, "resume", "--run-id-file", str(resumed))
    assert result.returncode == 0, result.output
    assert json.loads(resumed.read_text())["run_id"] == "2"


def test_no_file_when_no_run_is_created(run_flow, tmp_path: Path) -> None:
    id_file = tmp_path / "run.json"
    result = run_flow(COUNTING, "run", "--run-id-file", str(id_file), "--seconds", "x")
    assert result.returncode == 2, result.output
    assert "--seconds expects int" in result.output
    assert not id_file.exists()
