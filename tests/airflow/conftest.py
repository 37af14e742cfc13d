"""The ``airflow_env`` session fixture (see ``airflow_venv.py``)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from airflow_venv import AIRFLOW_VERSION, REPO, AirflowEnv, build_venv

# The unit tests import flowkit_airflow in this process. An environment where flowkit is
# installed editable from another checkout (a developer's worktree) maps only that checkout's
# plugins: the one under test comes first.
sys.path.insert(0, str(REPO / "plugins"))


@pytest.fixture(scope="session")
def airflow_env(tmp_path_factory: pytest.TempPathFactory) -> AirflowEnv:
    """Airflow 3 in its own venv, with a migrated SQLite ``AIRFLOW_HOME`` for this session."""
    python, seconds = build_venv()
    home = tmp_path_factory.mktemp("airflow-home")
    (home / "dags").mkdir()
    env = dict(os.environ)
    for key in [k for k in env if k.startswith("AIRFLOW")]:
        del env[key]
    env.pop("PYTHONPATH", None)  # the venv has this checkout installed: nothing else leaks in
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"),
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        PYTHONUNBUFFERED="1",
    )
    done = subprocess.run(
        [str(python.parent / "airflow"), "db", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        pytest.fail(f"airflow db migrate failed:\n{done.stdout}{done.stderr}", pytrace=False)
    print(f"\nAirflow {AIRFLOW_VERSION} venv ready in {seconds:.1f} s")
    return AirflowEnv(python, home, env, seconds)
