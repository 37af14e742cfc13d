"""``@trigger(path=...)`` on Airflow: the DAG polls the folder, and each file that lands starts
exactly one flowkit run, with the file's URL in the mapped parameter and in
``current.trigger``; a poll that finds nothing new makes no run."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from airflow_venv import AirflowEnv, run_id_of

from flowkit.client import ClientContext
from flowkit.extend import open_flow_datastore
from flowkit_airflow.arrivals import claim_next_object

FLOW = """\
from flowkit import FlowSpec, Parameter, current, step, trigger


@trigger({where}={watch!r}, suffix=".csv", parameters={{"src": "url"}})
class ArrivalFlow(FlowSpec):
    src = Parameter("src", default="")

    @step
    def start(self):
        self.seen = current.trigger.key if current.trigger else None
        self.etag = current.trigger.etag if current.trigger else None
        import fsspec

        with fsspec.open(self.src, "r") as landed:
            self.text = landed.read()
        self.next(self.end)

    @step
    def end(self):
        print("arrived", self.src)


if __name__ == "__main__":
    ArrivalFlow()
"""


def test_airflow_polls_a_folder_and_starts_one_run_per_file(
    airflow_env: AirflowEnv, tmp_path: Path
) -> None:
    watch = tmp_path / "incoming"
    root = tmp_path / "datastore"
    flow = tmp_path / "arrival.py"
    flow.write_text(FLOW.format(where="path", watch=str(watch)))
    env = {"FLOWKIT_DATASTORE_ROOT": str(root), "FLOWKIT_AIRFLOW_POLL_SECONDS": "120"}
    created = airflow_env.flow(flow, "airflow", "create", cwd=tmp_path, **env)
    assert created.returncode == 0, created.stdout + created.stderr
    dag_text = (airflow_env.dags / "ArrivalFlow.py").read_text()
    assert "schedule=datetime.timedelta(seconds=120)" in dag_text
    assert "@task.short_circuit(task_id='flowkit-trigger')" in dag_text

    watch.mkdir()
    (watch / "ignored.txt").write_text("not a csv")
    (watch / "a.csv").write_text("x,y\n1,2\n")
    first = airflow_env.dags_test("ArrivalFlow", **env)
    output = first.stdout + first.stderr
    assert first.returncode == 0, output[-6000:]
    run_id = run_id_of(output, "ArrivalFlow")
    assert f"flowkit run ArrivalFlow/{run_id}: succeeded" in output

    again = airflow_env.dags_test("ArrivalFlow", **env)  # nothing new: skipped, no run
    assert again.returncode == 0, (again.stdout + again.stderr)[-6000:]
    assert "nothing new under" in again.stdout + again.stderr
    assert "flowkit run ArrivalFlow/" not in again.stdout + again.stderr

    context = ClientContext(str(root), chosen_by="the test")
    [run] = list(context.flow("ArrivalFlow"))
    assert run.id == run_id and run.successful
    assert run.data.src == f"file://{watch / 'a.csv'}"
    assert run.data.seen == str(watch / "a.csv")
    assert run.data.text == "x,y\n1,2\n"


def test_airflow_polls_an_s3_prefix(
    airflow_env: AirflowEnv, seaweedfs, tmp_path: Path, monkeypatch
) -> None:
    prefix = f"airflow-trigger-{uuid.uuid4().hex[:8]}"
    env = seaweedfs.env({k: v for k, v in airflow_env.env.items() if not k.startswith("AWS_")})
    env["FLOWKIT_DATASTORE_ROOT"] = seaweedfs.url(f"{prefix}/datastore")
    flow = tmp_path / "arrival_s3.py"
    flow.write_text(FLOW.format(where="s3", watch=seaweedfs.url(f"{prefix}/in/")))
    try:
        created = airflow_env.flow(
            flow, "airflow", "--name", "ArrivalOnS3", "create", cwd=tmp_path, **env
        )
        assert created.returncode == 0, created.stdout + created.stderr
        put = seaweedfs.client().put_object(
            Bucket=seaweedfs.bucket, Key=f"{prefix}/in/b.csv", Body=b"1,2\n"
        )
        done = airflow_env.dags_test("ArrivalOnS3", **env)
        output = done.stdout + done.stderr
        assert done.returncode == 0, output[-6000:]
        run_id = run_id_of(output, "ArrivalFlow")
        for name, value in seaweedfs.aws_variables().items():  # the client in this process
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        context = ClientContext(seaweedfs.url(f"{prefix}/datastore"), chosen_by="the test")
        run = context.run(f"ArrivalFlow/{run_id}")
        assert run.successful and run.data.src == seaweedfs.url(f"{prefix}/in/b.csv")
        assert run.data.seen == f"{prefix}/in/b.csv" and run.data.text == "1,2\n"
        assert run.data.etag == put["ETag"].strip('"')
    finally:
        seaweedfs.clear(prefix)


def test_a_duplicate_poll_takes_each_object_once(tmp_path: Path) -> None:
    """Two polls (one scheduler twice, or two schedulers) of the same file: one wins."""
    watch = tmp_path / "incoming"
    watch.mkdir()
    older, newer = watch / "older.csv", watch / "newer.csv"
    older.write_text("1")
    newer.write_text("2")
    os.utime(older, (1_000_000, 1_000_000))
    store = open_flow_datastore(str(tmp_path / "datastore"), "ArrivalFlow")
    watched = {"kind": "path", "url": f"{watch}/", "suffix": ".csv"}

    def poll(dag_id: str = "ArrivalFlow") -> dict | None:
        return claim_next_object(store.storage, "ArrivalFlow", dag_id, watched, "run")

    first, second, third = poll(), poll(), poll()
    assert first is not None and first["url"] == f"file://{older}"  # the oldest first
    assert second is not None and second["key"] == str(newer)
    assert third is None
    # another DAG (a @project branch) keeps its own record: it gets the file too
    assert (poll("test.ArrivalFlow") or {}).get("key") == str(older)
    # a file written again (new size and time) is a new object
    older.write_text("1 again")
    assert (poll() or {}).get("key") == str(older)
    assert json.loads(store.storage.read(_only_record(store, first)))["dag_run_id"] == "run"


def _only_record(store, fields: dict) -> str:
    from flowkit_airflow.arrivals import consumed_key

    return consumed_key("ArrivalFlow", "ArrivalFlow", fields)
