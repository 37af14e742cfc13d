"""Episode 13 runs the way its README says, on the tests' local Airflow (``airflow dags test``
through ``python flow.py airflow trigger``), and the Deployer API does the same from Python."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from airflow_venv import AirflowEnv

from flowkit.client import ClientContext

EPISODE = Path(__file__).resolve().parents[2] / "tutorials" / "13-airflow"


def test_airflow_tutorial_13(airflow_env: AirflowEnv, tmp_path: Path) -> None:
    root = tmp_path / "datastore"
    env = {
        "FLOWKIT_DATASTORE_ROOT": str(root),
        "FLOWKIT_AIRFLOW_BIN": str(airflow_env.python.parent / "airflow"),
    }

    def run(flow: str, *args: str) -> subprocess.CompletedProcess[str]:
        done = airflow_env.flow(EPISODE / flow, *args, cwd=tmp_path, **env)
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
        return done

    created = run("etl.py", "airflow", "create")
    assert "DAG EtlFlow written to " in created.stdout
    assert (airflow_env.dags / "EtlFlow.py").is_file()
    run("report.py", "airflow", "create")
    etl = run("etl.py", "airflow", "trigger", "--rows", "4", "--run-id-file", "etl.json")
    assert "Run EtlFlow/airflow-manual__" in etl.stdout
    etl_id = json.loads((tmp_path / "etl.json").read_text())
    assert etl_id["flow"] == "EtlFlow" and etl_id["datastore_root"].endswith("datastore")
    report = run("report.py", "airflow", "trigger")
    assert f"report: EtlFlow/{etl_id['run_id']} made total 100" in report.stdout + report.stderr
    context = ClientContext(str(root), chosen_by="the test")
    assert context.run(f"EtlFlow/{etl_id['run_id']}").data.total == 100
    assert [r.id.startswith("airflow-") for r in context.flow("ReportFlow")] == [True]


def test_airflow_deployer_api(airflow_env: AirflowEnv, tmp_path: Path) -> None:
    """``Deployer(...).airflow().create()`` and ``.trigger()`` as a program calls them."""
    script = tmp_path / "deploy.py"
    script.write_text(
        "import sys\n"
        "from flowkit import Deployer\n"
        "deployer = Deployer(sys.argv[1], show_output=False).airflow(name='EtlByDeployer')\n"
        "deployed = deployer.create(dag_file=sys.argv[2])\n"
        "print('NAME', deployed.name, deployed.flow_name, deployed.metadata['dag_file'])\n"
        "run = deployed.trigger(rows=2).run\n"
        "print('RUN', run.pathspec, run.successful, run.data.total)\n"
    )
    dag_file = airflow_env.dags / "etl_deployer.py"
    done = subprocess.run(
        [str(airflow_env.python), str(script), str(EPISODE / "etl.py"), str(dag_file)],
        cwd=tmp_path,
        env={
            **airflow_env.env,
            "FLOWKIT_DATASTORE_ROOT": str(tmp_path / "datastore"),
            "FLOWKIT_AIRFLOW_BIN": str(airflow_env.python.parent / "airflow"),
        },
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert f"NAME EtlByDeployer EtlFlow {dag_file}" in done.stdout
    assert "RUN EtlFlow/airflow-manual__" in done.stdout
    assert done.stdout.rstrip().endswith("True 30")
