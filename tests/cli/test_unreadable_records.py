"""One damaged record does not break a flow: ``flowkit runs|show|dump`` and ``resume``.

The datastore holds three runs of LinearFlow: run 3's record is garbage, run 2's start time is a
string, run 1 has a truncated task manifest, and the ``latest`` hint is nonsense. (A finished
run is read from its complete end record, ``end.json``, so that is the one damaged.)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from flowtests import SHAPE_CASES, FlowRunner

LINEAR = SHAPE_CASES["linear"].file


def damage(root: Path) -> dict[str, Path]:
    """Damage the runs of LinearFlow under ``root`` as the module docstring says."""
    runs = root / "LinearFlow" / "runs"
    garbage = runs / "3" / "end.json"
    garbage.write_text("garbage")
    wrong_type = runs / "2" / "end.json"
    record = json.loads(wrong_type.read_text())
    record["created_at"] = "yesterday"
    wrong_type.write_text(json.dumps(record))
    truncated = runs / "1" / "b" / "3" / "0.manifest.json"
    text = truncated.read_text()
    truncated.write_text(text[: len(text) // 2])
    (root / "LinearFlow" / "latest").write_text("99999999999999999999")
    return {"garbage": garbage, "wrong_type": wrong_type, "truncated": truncated}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("unreadable")
    runner = FlowRunner(work / "datastore", work)
    for _ in range(3):
        assert runner(LINEAR, "run").returncode == 0
    return work / "datastore"


@pytest.fixture
def damaged(pristine: Path, tmp_path: Path) -> tuple[FlowRunner, dict[str, Path]]:
    root = tmp_path / "datastore"
    shutil.copytree(pristine, root)
    return FlowRunner(root, tmp_path), damage(root)


def flowkit(runner: FlowRunner, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from flowkit.cli.main import main; main()", *args],
        cwd=runner.cwd,
        env=runner.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("command", [["runs", "LinearFlow"], ["show", "LinearFlow"]])
def test_listings_show_unreadable_runs_and_carry_on(damaged, command: list[str]) -> None:
    runner, files = damaged
    listed = flowkit(runner, *command)
    assert listed.returncode == 0, listed.stderr
    rows = [line.split()[:2] for line in listed.stdout.splitlines()[1:4]]
    assert rows == [["3", "unreadable"], ["2", "unreadable"], ["1", "succeeded"]]
    assert files["garbage"].as_uri() in listed.stdout
    assert files["wrong_type"].as_uri() in listed.stdout
    assert "created_at must be" in listed.stdout and "not valid JSON" in listed.stdout
    as_json = json.loads(flowkit(runner, *command, "--json").stdout)
    assert [(r["run_id"], r["status"]) for r in as_json] == [
        ("3", "unreadable"),
        ("2", "unreadable"),
        ("1", "succeeded"),
    ]
    assert as_json[0]["path"] == files["garbage"].as_uri()


def test_reading_an_unreadable_run_directly_names_the_file(damaged) -> None:
    runner, files = damaged
    for run, file in (("3", files["garbage"]), ("2", files["wrong_type"])):
        shown = flowkit(runner, "show", f"LinearFlow/{run}")
        assert shown.returncode == 1
        assert file.as_uri() in shown.stderr and "Fix:" in shown.stderr
        assert "Traceback" not in shown.stderr and "TypeError" not in shown.stderr


def test_a_run_with_a_truncated_manifest_shows_the_rest(damaged) -> None:
    runner, files = damaged
    shown = flowkit(runner, "show", "LinearFlow/1")
    assert shown.returncode == 0, shown.stderr
    assert "Run LinearFlow/1: succeeded" in shown.stdout
    assert files["truncated"].as_uri() in shown.stdout
    steps = [line.split()[0] for line in shown.stdout.splitlines() if line.startswith("  ")]
    assert {"start", "a", "c", "end"} <= set(steps) and "b" not in steps
    dumped = flowkit(runner, "dump", "LinearFlow/1/b/3")
    assert dumped.returncode == 1
    assert files["truncated"].as_uri() in dumped.stderr and "Traceback" not in dumped.stderr
    other = flowkit(runner, "dump", "LinearFlow/1/end/5", "--artifact", "x")
    assert other.returncode == 0 and other.stdout.strip() == "4"


def test_resume_skips_unreadable_runs_and_reruns_unreadable_tasks(damaged) -> None:
    runner, files = damaged
    resumed = runner(LINEAR, "resume")
    assert resumed.returncode == 0, resumed.output
    assert "resuming LinearFlow/1" in resumed.output
    assert files["garbage"].as_uri() in resumed.stderr  # says what it skipped
    assert "Run LinearFlow/4 started" in resumed.output  # the nonsense hint is ignored
    assert "3 tasks ran, 2 cloned" in resumed.output  # b (unreadable) and after run again


def test_resume_says_why_when_no_run_is_readable(damaged) -> None:
    runner, files = damaged
    (runner.root / "LinearFlow" / "runs" / "1" / "end.json").write_text("[]")
    resumed = runner(LINEAR, "resume")
    assert resumed.returncode != 0
    assert "unreadable" in resumed.stderr and files["garbage"].as_uri() in resumed.stderr
    assert "Traceback" not in resumed.stderr
