"""The datastore written by flowkit's format 1 (``v1/``, from ``make_golden.py``) stays usable.

Every later flowkit must read it through the client, list it and show it with the CLI, and
resume its failed run. The facts checked come from ``v1/golden.json``, written by the same
script, so regenerating the data never needs a change here. The data is copied to a temporary
folder first: reading or resuming must not depend on where it was recorded, nor modify it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flowkit.client import ClientContext
from flowkit.datastore import FormatTooNew

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "v1"
FACTS = json.loads((GOLDEN / "golden.json").read_text())
FLOW = FACTS["flow"]
FAILED = FACTS["failed_run"]
RESUMED = FACTS["resumed_run"]
CLI = [sys.executable, "-c", "from flowkit.cli.main import main; main()"]


@pytest.fixture
def golden(tmp_path: Path) -> Path:
    """A private copy of the golden datastore (with the flow file beside it, in ``code/``)."""
    root = tmp_path / "datastore"
    shutil.copytree(GOLDEN, root, ignore=shutil.ignore_patterns("golden.json"))
    (tmp_path / "code").mkdir()
    shutil.copy(HERE / "flow.py", tmp_path / "code" / "flow.py")
    return root


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args, "--datastore-root", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_client_reads_every_run_step_task_artifact_and_log(golden: Path) -> None:
    context = ClientContext(str(golden))
    flow = context.flow(FLOW)
    assert {run.id for run in flow} >= {FAILED, RESUMED}
    failed, resumed = context.run(f"{FLOW}/{FAILED}"), context.run(f"{FLOW}/{RESUMED}")
    for run_id, tags in FACTS["tags"].items():
        assert set(tags) <= context.run(f"{FLOW}/{run_id}").tags
    assert not failed.successful and resumed.successful
    assert [s.id for s in resumed.steps()] == list(reversed(FACTS["steps"]))
    for step, values in FACTS["artifacts"].items():
        task = resumed[step].task
        for name, value in values.items():
            assert task[name].data == value, f"{step}.{name}"
    assert resumed.data.alpha == FACTS["parameters"]["alpha"]
    point = resumed["left"].task["point"].data  # a class defined in the flow file
    assert (point.x, point.y) == (1, 2)
    start = failed["start"].task
    assert FACTS["logs"]["start"] in start.stdout
    # a task cloned by the resume shows the logs of the task it was cloned from
    assert FACTS["logs"]["start"] in resumed["start"].task.stdout
    assert resumed["start"].task.origin_pathspec == start.pathspec
    [broken] = [t for t in failed[FACTS["failed_step"]] if not t.successful]
    assert broken.exception is not None
    assert broken.exception.kind == FACTS["failure"]["kind"]
    assert broken.exception.type == FACTS["failure"]["type"]
    assert broken.foreach_stack[-1].var and broken.index is not None
    assert broken.code is not None and "flow.py" in broken.code.files


def test_the_cli_lists_and_shows_the_runs(golden: Path) -> None:
    listing = _cli(golden, "runs", FLOW, "--json")
    assert listing.returncode == 0, listing.stderr
    ids = {run["run_id"] for run in json.loads(listing.stdout)}
    assert {FAILED, RESUMED} <= ids
    table = _cli(golden, "runs", FLOW)
    assert table.returncode == 0 and FAILED in table.stdout, table.stderr
    shown = _cli(golden, "show", f"{FLOW}/{FAILED}")
    assert shown.returncode == 0, shown.stderr
    assert FACTS["failure"]["type"] in shown.stdout
    for pathspec in (f"{FLOW}/{RESUMED}", f"{FLOW}/{RESUMED}/work", f"{FLOW}/{RESUMED}/end"):
        result = _cli(golden, "show", pathspec, "--json")
        assert result.returncode == 0, (pathspec, result.stderr)
        json.loads(result.stdout)
    verified = _cli(golden, "verify", FLOW)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_the_failed_run_resumes(golden: Path) -> None:
    code = golden.parent / "code"
    env = {"FLOWKIT_DATASTORE_ROOT": str(golden), "FLOWKIT_CONFIG": str(code / "none.json")}
    proc = subprocess.run(
        [sys.executable, "flow.py", "resume", "--origin-run-id", FAILED],
        cwd=code,
        env={**_inherited(), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    context = ClientContext(str(golden))
    newest = max(context.flow(FLOW), key=lambda run: int(run.id))
    assert newest.id not in (FAILED, RESUMED) and newest.successful
    assert newest["end"].task["total"].data == FACTS["artifacts"]["end"]["total"]
    cloned = [t for t in newest["work"] if t.origin_pathspec]
    assert len(cloned) == 2  # the splits that succeeded in the failed run are not rerun


def _inherited() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("FLOWKIT_")}


def _make_newer(golden: Path) -> str:
    """Mark one task manifest as written by a future flowkit; return the task's pathspec."""
    manifest = next((golden / FLOW / "runs" / RESUMED / "end").glob("*/0.manifest.json"))
    raw = json.loads(manifest.read_text())
    raw["format_version"] = "2.0"
    raw["written_by"] = "2.3.1"
    manifest.write_text(json.dumps(raw))
    return f"{FLOW}/{RESUMED}/end/{manifest.parent.name}"


def test_a_newer_major_format_asks_for_an_upgrade_in_the_client(golden: Path) -> None:
    pathspec = _make_newer(golden)
    with pytest.raises(FormatTooNew, match=r"written by flowkit 2\.3: upgrade"):
        ClientContext(str(golden)).task(pathspec)


def test_a_newer_major_format_asks_for_an_upgrade_in_the_cli(golden: Path) -> None:
    pathspec = _make_newer(golden)
    newer = next((golden / FLOW / "runs" / RESUMED / "end").glob("*/0.manifest.json"))
    for args in (
        ("show", pathspec),
        ("show", f"{FLOW}/{RESUMED}/end"),
        ("verify", FLOW, "--repair"),
    ):
        result = _cli(golden, *args)
        assert result.returncode != 0
        assert "written by flowkit 2.3: upgrade" in result.stderr
        assert "Traceback" not in result.stderr
        assert "\n\n" not in result.stderr.strip()  # one paragraph
    assert newer.exists()  # verify --repair never sets aside what a newer flowkit wrote
