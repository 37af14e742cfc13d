"""The same flow run by Airflow against the S3 server the S3 tests use: the tasks on the
Airflow worker read and write ``s3://``, and the client reads the run back like a local run."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from airflow_venv import AirflowEnv, run_id_of
from flowtests import SHAPE_CASES

from flowkit.client import ClientContext

SHAPE = SHAPE_CASES["foreach"]


def test_airflow_foreach_on_s3(
    airflow_env: AirflowEnv, seaweedfs, tmp_path: Path, monkeypatch
) -> None:
    prefix = f"airflow-{uuid.uuid4().hex[:8]}"
    env = seaweedfs.env({k: v for k, v in airflow_env.env.items() if not k.startswith("AWS_")})
    env["FLOWKIT_DATASTORE_ROOT"] = seaweedfs.url(prefix)
    try:
        created = airflow_env.flow(
            SHAPE.file,
            "airflow",
            "--name",
            "ForeachOnS3",
            "create",
            str(airflow_env.dags / "foreach_s3.py"),
            cwd=tmp_path,
            **env,
        )
        assert created.returncode == 0, created.stdout + created.stderr
        assert "ForeachOnS3" in created.stdout
        ran = airflow_env.flow(SHAPE.file, "run", "--run-id-file", "ids.json", cwd=tmp_path, **env)
        assert ran.returncode == 0, ran.stdout + ran.stderr
        local_id = json.loads((tmp_path / "ids.json").read_text())["run_id"]
        done = airflow_env.dags_test("ForeachOnS3", {"width": 4}, **env)
        output = done.stdout + done.stderr
        assert done.returncode == 0, output[-6000:]
        run_id = run_id_of(output, SHAPE.flow)
        assert f"flowkit run {SHAPE.flow}/{run_id}: succeeded" in output
        for name, value in seaweedfs.aws_variables().items():  # the client in this process
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        context = ClientContext(seaweedfs.url(prefix), chosen_by="the test")
        run = context.run(f"{SHAPE.flow}/{run_id}")
        local = context.run(f"{SHAPE.flow}/{local_id}")
        assert run.successful and run.data.result == SHAPE.result
        assert [t.data.pair for t in run["work"]] == [t.data.pair for t in local["work"]]
        assert not (tmp_path / ".flowkit").exists()  # nothing went to a local datastore
    finally:
        seaweedfs.clear(prefix)
