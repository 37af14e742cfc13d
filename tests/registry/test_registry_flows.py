"""Registering from steps of flows run as users run them, then the ``flowkit registry`` CLI,
``flowkit.Model`` in a notebook and in a step; and a registry on S3 read from a second machine."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

from flowtests import FlowRunner
from s3servers import S3Server

from flowkit.client import ClientContext
from flowkit.datastore import ByteStorage
from flowkit.modelreg import Registry

FLOWS = Path(__file__).parent / "flows"
TRAIN = FLOWS / "registry_train.py"
SCORE = FLOWS / "registry_score.py"
CLI = [sys.executable, "-c", "from flowkit.cli.main import main; main()", "registry"]


def _cli(run_flow: FlowRunner, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *args], cwd=run_flow.cwd, env=run_flow.env, capture_output=True, text=True
    )


def test_a_version_registered_in_a_step_records_where_it_came_from(run_flow: FlowRunner) -> None:
    for alpha in ("0.5", "2"):
        result = run_flow(TRAIN, "run", "--alpha", alpha)
        assert result.returncode == 0, result.stderr
    assert "registered churn@v2 from RegTrainFlow/2/train/" in result.stdout + result.stderr
    registry = Registry(ByteStorage(str(run_flow.root)))
    v1, v2 = registry.versions("churn")
    client = ClientContext(str(run_flow.root))
    task = client.run("RegTrainFlow/1")["train"].task
    assert v1.pathspec == task.pathspec and v1.artifact == "model"
    assert v1.sha == task["model"].sha  # the task's own blob: nothing copied
    assert v1.code_sha and v1.code_sha == run_flow.store("RegTrainFlow").run_record("1").code_sha
    assert v1.parameters == {"alpha": "0.5"} and v2.parameters == {"alpha": "2.0"}
    start = client.run("RegTrainFlow/1")["start"].task
    [parent] = v1.inputs
    assert parent["task"] == start.pathspec
    assert parent["artifacts"]["data"] == start["data"].sha
    assert v1.metrics == {"auc": 0.55} and v1.tags == {"team": "ml"}
    assert v1.user and v1.created_at > 0 and v1.kind == "model"
    assert (v1.run_pathspec, v1.step) == ("RegTrainFlow/1", "train")
    orders = registry.resolve("orders@v1", "dataset")
    assert orders.artifact == "data" and orders.inputs == []


def test_promote_history_rollback_and_errors_from_the_terminal(run_flow: FlowRunner) -> None:
    for alpha in ("0.5", "2"):
        assert run_flow(TRAIN, "run", "--alpha", alpha).returncode == 0
    promoted = _cli(run_flow, "promote", "churn", "v1", "--alias", "champion", "--expect", "none")
    assert promoted.returncode == 0, promoted.stderr
    assert "churn@champion: - -> v1  promote" in promoted.stdout
    stale = _cli(run_flow, "promote", "churn", "v2", "--alias", "champion", "--expect", "none")
    assert stale.returncode == 3
    assert "churn@champion points to v1, not nothing as expected" in stale.stderr
    assert "--expect v1" in stale.stderr
    assert _cli(run_flow, "promote", "churn", "v2", "--alias", "champion", "--expect", "v1")
    rolled = _cli(run_flow, "rollback", "churn@champion", "--note", "auc dropped")
    assert rolled.returncode == 0, rolled.stderr
    history = _cli(run_flow, "history", "churn@champion")
    lines = history.stdout.strip().splitlines()
    assert len(lines) == 3
    assert "v1 -> v2  promote" in lines[1] and "v2 -> v1  rollback" in lines[2]
    assert "(auc dropped)" in lines[2]

    scored = run_flow(SCORE, "run")  # flowkit.Model inside a step
    assert scored.returncode == 0, scored.stderr
    assert "scored with churn@v1: 10.0" in scored.stdout + scored.stderr

    shown = _cli(run_flow, "show", "churn@champion")
    assert "churn@v1" in shown.stdout and "aliases:     champion" in shown.stdout
    listed = _cli(run_flow, "list")
    assert "churn" in listed.stdout and "champion=v1" in listed.stdout
    assert "orders" in listed.stdout and "dataset" in listed.stdout
    tagged = _cli(run_flow, "tag", "churn", "v1", "stage=prod")
    assert tagged.returncode == 0 and "stage=prod, team=ml" in tagged.stdout

    typo = _cli(run_flow, "show", "chrun")
    assert typo.returncode != 0 and 'Did you mean "churn"?' in typo.stderr
    alias = _cli(run_flow, "show", "churn@champoin")
    assert alias.returncode != 0 and 'Did you mean "champion"?' in alias.stderr
    assert "Traceback" not in typo.stderr + alias.stderr
    missing = _cli(run_flow, "register", "churn", "RegTrainFlow/1/train/2", "modle")
    assert missing.returncode != 0 and 'Did you mean "model"?' in missing.stderr


def test_register_an_artifact_of_a_past_run(run_flow: FlowRunner) -> None:
    assert run_flow(TRAIN, "run").returncode == 0
    task = ClientContext(str(run_flow.root)).run("RegTrainFlow/1")["train"].task
    done = _cli(run_flow, "register", "baseline", task.pathspec, "model", "--metric", "auc=0.7")
    assert done.returncode == 0, done.stderr
    assert f"registered baseline@v1 ({task['model'].sha[:12]})" in done.stdout
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import flowkit; m = flowkit.Model('baseline'); print(m.load(), m.metrics)",
        ],
        cwd=run_flow.cwd,
        env=run_flow.env,
        capture_output=True,
        text=True,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert "{'slope': 1.0, 'n': 4} {'auc': 0.7}" in loaded.stdout


def test_a_registry_on_s3_read_from_a_second_machine(moto_s3: S3Server, tmp_path: Path) -> None:
    prefix = f"registry-{uuid.uuid4().hex[:12]}"
    here = tmp_path / "trainer"
    there = tmp_path / "laptop"
    here.mkdir()
    there.mkdir()
    runner = FlowRunner(here / "unused", here)
    runner.env = moto_s3.env(dict(runner.env))
    runner.env["FLOWKIT_DATASTORE_ROOT"] = moto_s3.url(prefix)
    try:
        assert runner(TRAIN, "run").returncode == 0
        promoted = _cli(runner, "promote", "churn", "v1", "--alias", "champion")
        assert promoted.returncode == 0, promoted.stderr
        # a fresh process in another folder, knowing only the bucket: another machine
        other = moto_s3.env()
        other["FLOWKIT_DATASTORE_ROOT"] = moto_s3.url(prefix)
        read = subprocess.run(
            [
                sys.executable,
                "-c",
                "import flowkit\n"
                "m = flowkit.Model('churn@champion')\n"
                "print(m.version.ref, m.load(), m.version.pathspec)\n"
                "print(flowkit.Dataset('orders').load())\n",
            ],
            cwd=there,
            env=other,
            capture_output=True,
            text=True,
        )
        assert read.returncode == 0, read.stderr
        assert "churn@v1 {'slope': 1.0, 'n': 4} RegTrainFlow/1/train/" in read.stdout
        assert "[1.0, 2.0, 3.0, 4.0]" in read.stdout
        history = subprocess.run(
            [*CLI, "history", "churn@champion"],
            cwd=there,
            env=other,
            capture_output=True,
            text=True,
        )
        assert history.returncode == 0 and "- -> v1  promote" in history.stdout
        assert not (here / ".flowkit").exists() and not (there / ".flowkit").exists()
    finally:
        moto_s3.clear(prefix)


def test_a_spin_that_registers_leaves_the_real_registry_alone(run_flow: FlowRunner) -> None:
    assert run_flow(TRAIN, "run").returncode == 0
    spun = run_flow(TRAIN, "spin", "train")
    assert spun.returncode == 0, spun.stderr
    assert "registered churn@v1 from RegTrainFlow/spin/train/" in spun.stdout  # spin area
    assert [v.number for v in Registry(ByteStorage(str(run_flow.root))).versions("churn")] == [1]
