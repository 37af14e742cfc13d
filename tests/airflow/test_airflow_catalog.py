"""``airflow create --profile/--catalog``: the DAG's runs record that catalog and profile, and
their tasks (run by ``airflow dags test``, no FLOWKIT_PROFILE) read through it."""

from __future__ import annotations

from pathlib import Path

from airflow_venv import AirflowEnv, run_id_of
from profileproject import write_project

from flowkit.client import ClientContext

FLOW = """
from flowkit import FlowSpec, step


class AirflowCatalogFlow(FlowSpec):
    @step
    def start(self):
        self.first = self.catalog.load("greeting")
        self.next(self.end)

    @step
    def end(self):
        self.second = self.catalog.load("greeting")
        self.profile = self.catalog.profile


if __name__ == "__main__":
    AirflowCatalogFlow()
"""


def test_dag_runs_use_the_profile_given_to_create(airflow_env: AirflowEnv, tmp_path: Path):
    work = write_project(tmp_path / "proj", FLOW).parent
    root = tmp_path / "datastore"
    env = {"FLOWKIT_DATASTORE_ROOT": str(root)}
    dag = airflow_env.dags / "catalog_flow.py"
    created = airflow_env.flow(
        work / "flow.py",
        "airflow",
        "--name",
        "CatalogProfileX",
        "create",
        str(dag),
        "--profile",
        "x",
        cwd=work,
        **env,
    )
    assert created.returncode == 0, created.stdout + created.stderr
    try:
        done = airflow_env.dags_test("CatalogProfileX", **env)
        output = done.stdout + done.stderr
        assert done.returncode == 0, output[-6000:]
        run_id = run_id_of(output, "AirflowCatalogFlow")
        run = ClientContext(str(root), chosen_by="the test").run(f"AirflowCatalogFlow/{run_id}")
        assert run.successful
        assert (run.data.second, run.data.profile) == ("x data", "x")
        assert run["start"].task.data.first == "x data"
        from flowkit.datastore import ByteStorage, FlowDatastore

        record = FlowDatastore(ByteStorage(str(root)), "AirflowCatalogFlow").run_record(run_id)
        assert record.catalog is not None and record.catalog.profile == "x"
        assert record.catalog.path == str(work / "catalog.toml")
    finally:
        dag.unlink(missing_ok=True)

    refused = airflow_env.flow(
        work / "flow.py", "airflow", "create", str(dag), "--profile", "prod", cwd=work, **env
    )
    assert refused.returncode != 0
    assert "no profile 'prod'" in refused.stdout + refused.stderr
    assert not dag.exists()
