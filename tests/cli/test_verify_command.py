"""A corrupted blob, found by a read or by ``flowkit verify``, is recomputed by ``resume``.

Everything runs the way a user would: ``python flow.py run|resume`` and ``flowkit ...`` as
subprocesses against a private datastore.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from flowtests import SHAPE_CASES, FlowRunner, end_artifact

LINEAR = SHAPE_CASES["linear"].file
EXPECTED = SHAPE_CASES["linear"].result


def flowkit(runner: FlowRunner, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from flowkit.cli.main import main; main()", *args],
        cwd=runner.cwd,
        env=runner.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _corrupt(runner: FlowRunner, run_id: str, step: str, artifact: str) -> Path:
    """Flip a byte of the blob of ``artifact`` as ``step`` stored it; return the file."""
    store = runner.store("LinearFlow")
    [task_id] = store.tasks(run_id, step)
    sha = store.read_manifest(run_id, step, task_id).artifacts[artifact].sha
    blob = runner.root / "LinearFlow" / "data" / sha[:2] / sha
    data = bytearray(blob.read_bytes())
    data[-1] ^= 0xFF
    blob.write_bytes(data)
    return blob


def test_a_corrupt_artifact_names_its_producer_and_the_fix_works(run_flow: FlowRunner) -> None:
    assert run_flow(LINEAR, "run").returncode == 0
    blob = _corrupt(run_flow, "1", "b", "seen")

    dump = flowkit(run_flow, "dump", "LinearFlow/1/end/5")
    assert dump.returncode == 1
    assert "Traceback" not in dump.stderr
    assert "'seen'" in dump.stderr and "LinearFlow/1/b/3" in dump.stderr
    assert blob.as_uri() in dump.stderr
    fix = dump.stderr.split("Fix:")[1]
    assert "resume --origin-run-id 1" in fix

    # The hint's command: the damaged blob was set aside, so resume recomputes b and after.
    resumed = run_flow(LINEAR, "resume", "--origin-run-id", "1")
    assert resumed.returncode == 0, resumed.output
    assert "3 tasks ran, 2 cloned" in resumed.output
    store = run_flow.store("LinearFlow")
    assert end_artifact(store, "2") == EXPECTED
    # Same inputs, same bytes, same blob name: the first run reads again too.
    assert end_artifact(store, "1") == EXPECTED
    assert flowkit(run_flow, "verify", "LinearFlow").returncode == 0


def test_verify_reports_repairs_and_resume_recomputes(run_flow: FlowRunner) -> None:
    assert run_flow(LINEAR, "run").returncode == 0
    clean = flowkit(run_flow, "verify")
    assert clean.returncode == 0 and "all good" in clean.stdout, clean.output
    blob = _corrupt(run_flow, "1", "a", "seen")

    found = flowkit(run_flow, "verify", "LinearFlow/1")
    assert found.returncode == 1
    assert blob.as_uri() in found.stdout
    assert "LinearFlow/1/a/2 (artifact seen)" in found.stdout and "corrupt" in found.stdout
    assert "flowkit verify LinearFlow/1 --repair" in found.stderr
    report = json.loads(flowkit(run_flow, "verify", "LinearFlow", "--json").stdout)
    [problem] = report[0]["problems"]
    assert problem["path"] == blob.as_uri() and problem["kind"] == "artifact"

    repaired = flowkit(run_flow, "verify", "LinearFlow/1", "--repair")
    assert repaired.returncode == 0, repaired.output
    assert "moved to" in repaired.stdout and not blob.exists()
    assert f"{LINEAR} resume --origin-run-id 1" in repaired.stdout

    resumed = run_flow(LINEAR, "resume")
    assert resumed.returncode == 0, resumed.output
    assert "4 tasks ran, 1 cloned" in resumed.output  # only start is cloned
    assert end_artifact(run_flow.store("LinearFlow"), "2") == EXPECTED
    assert flowkit(run_flow, "verify", "LinearFlow").returncode == 0


def test_a_step_reading_a_corrupt_input_names_it_and_resume_recovers(
    run_flow: FlowRunner,
) -> None:
    assert run_flow(LINEAR, "run").returncode == 0
    _corrupt(run_flow, "1", "a", "seen")
    failed = run_flow(LINEAR, "resume", "b")
    assert failed.returncode == 1
    assert "'seen' produced by LinearFlow/1/a/2" in failed.output
    # What the run's failure message says to do, once the damaged blob is set aside:
    assert "resume with:" in failed.output
    resumed = run_flow(LINEAR, "resume")
    assert resumed.returncode == 0, resumed.output
    assert end_artifact(run_flow.store("LinearFlow"), "3") == EXPECTED


def test_verify_names_a_missing_flow(run_flow: FlowRunner) -> None:
    assert run_flow(LINEAR, "run").returncode == 0
    missing = flowkit(run_flow, "verify", "LinerFlow")
    assert missing.returncode == 1 and "LinearFlow" in missing.stderr
    bad = flowkit(run_flow, "verify", "LinearFlow/1/b")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
