"""``flowkit show RUN --env`` and ``Run.environment`` on runs made with ``python flow.py run``;
run records from older and newer flowkits through the real CLI."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest
from flowtests import SHAPES, FlowRunner

from flowkit.client import ClientContext
from flowkit.errors import CorruptRecord

CLI = "from flowkit.cli.main import main; main()"


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> FlowRunner:
    work = tmp_path_factory.mktemp("env-runs")
    runner = FlowRunner(work / "datastore", work)
    for _ in range(2):
        result = runner(SHAPES / "linear.py", "run")
        assert result.returncode == 0, result.output
    return runner


def _cli(runner: FlowRunner, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CLI, *args],
        capture_output=True,
        text=True,
        env=runner.env,
        cwd=runner.cwd,
    )


def test_show_env_prints_python_platform_and_packages(two_runs: FlowRunner) -> None:
    shown = _cli(two_runs, "show", "LinearFlow/2", "--env")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "Environment of LinearFlow/2"
    assert f"  python    {platform.python_version()} ({platform.python_implementation()})" in lines
    assert any(line.split() == ["pytest", pytest.__version__] for line in lines)

    as_json = json.loads(_cli(two_runs, "show", "LinearFlow/2", "--env", "--json").stdout)
    assert as_json["environment"]["packages"]["pytest"] == pytest.__version__
    assert as_json["environment"]["python"] == platform.python_version()


def test_runs_from_one_environment_share_its_record(two_runs: FlowRunner) -> None:
    context = ClientContext(str(two_runs.root))
    first, second = context.run("LinearFlow/1"), context.run("LinearFlow/2")
    assert first.to_dict()["environment_sha"] == second.to_dict()["environment_sha"]
    env = second.environment
    assert env is not None and env == first.environment
    assert env.packages["pytest"] == pytest.__version__
    assert env.python == platform.python_version()


def _rewrite(root: Path, run_id: str, name: str, **changes: object) -> None:
    path = root / "LinearFlow" / "runs" / run_id / name
    raw = json.loads(path.read_text())
    raw.update(changes)
    path.write_text(json.dumps({k: v for k, v in raw.items() if v is not None}))


def test_a_run_from_before_environments_says_not_recorded(
    two_runs: FlowRunner, tmp_path: Path
) -> None:
    runner = FlowRunner(tmp_path / "datastore", tmp_path)
    assert runner(SHAPES / "linear.py", "run").returncode == 0
    for name in ("run.json", "end.json"):
        _rewrite(runner.root, "1", name, environment_sha=None)
    shown = _cli(runner, "show", "LinearFlow/1", "--env")
    assert shown.returncode == 0, shown.stderr
    assert "The environment of LinearFlow/1 was not recorded" in shown.stdout
    as_json = json.loads(_cli(runner, "show", "LinearFlow/1", "--env", "--json").stdout)
    assert as_json["environment"] is None
    assert ClientContext(str(runner.root)).run("LinearFlow/1").environment is None


def test_a_run_record_from_a_newer_format_says_upgrade(tmp_path: Path) -> None:
    runner = FlowRunner(tmp_path / "datastore", tmp_path)
    assert runner(SHAPES / "linear.py", "run").returncode == 0
    _rewrite(runner.root, "1", "end.json", format_version="2.0", written_by="2.3.1")
    for args in (
        ["show", "LinearFlow/1"],
        ["runs", "LinearFlow"],
        ["show", "LinearFlow/1", "--env"],
    ):
        result = _cli(runner, *args)
        assert result.returncode != 0
        message = result.stdout + result.stderr
        assert "written by flowkit 2.3: upgrade" in message, message
        assert "Traceback" not in message
        assert "\n\n" not in message.strip()  # one paragraph


def test_a_missing_environment_blob_is_named(tmp_path: Path) -> None:
    runner = FlowRunner(tmp_path / "datastore", tmp_path)
    assert runner(SHAPES / "linear.py", "run").returncode == 0
    run = ClientContext(str(runner.root)).run("LinearFlow/1")
    sha = run.to_dict()["environment_sha"]
    blob = runner.root / "LinearFlow" / "data" / sha[:2] / sha
    blob.unlink()
    with pytest.raises(CorruptRecord) as info:
        ClientContext(str(runner.root)).run("LinearFlow/1").environment
    assert info.value.url == blob.as_uri()
    shown = _cli(runner, "show", "LinearFlow/1", "--env")
    assert shown.returncode == 1
    assert blob.as_uri() in shown.stderr and "Fix: flowkit verify LinearFlow/1" in shown.stderr
