"""Airflow 3 for the tests: a virtual environment of its own, built once and cached.

(The ``airflow_env`` fixture is in this folder's ``conftest.py``.)

Airflow pins many packages (SQLAlchemy, pydantic ...) that would clash with the test
environment's, so it never goes into it. The session fixture :func:`airflow_env` builds
``~/.cache/flowkit-tests/airflow-<version>-py<X.Y>`` (Airflow pinned, plus flowkit's core and S3
dependencies) the first time, reuses it after, installs this checkout into it (editable, so the
DAG files' ``flowkit_airflow`` and the flow commands' entry points are the code under test), and
gives each session a fresh ``AIRFLOW_HOME`` with a migrated SQLite database in its temp dir.

Flows are run as a user of ``flowkit[airflow]`` runs them: ``python flow.py airflow create``
with that environment's Python, then ``airflow dags test``. A missing Airflow is a failure
saying why, never a skip.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: The Airflow release the tests run (inside the ``airflow`` extra's range in pyproject.toml).
AIRFLOW_VERSION = "3.1.8"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "flowkit-tests"
# flowkit's core, S3 and AWS Batch dependencies, as pyproject.toml's [project], [s3] and [aws]
# (aiobotocore's and boto3's windows as the test extra pins them, so pip does not backtrack)
DEPENDENCIES = [
    "cloudpickle>=2.0",
    "fsspec>=2023.6",
    "click>=8.0",
    "pandas>=1.5",
    "s3fs>=2024.12.0,<2027",
    "aiobotocore>=3.10,<3.11",
    "boto3>=1.43.11,<1.43.118",
    "setuptools>=68",
    "wheel",
]


def _pip(python: Path, *args: str) -> None:
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *args],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    if done.returncode != 0:
        pytest.fail(
            f"installing Airflow for the tests failed: pip install {' '.join(args)}:\n"
            f"{done.stdout[-3000:]}{done.stderr[-3000:]}",
            pytrace=False,
        )


def build_venv() -> tuple[Path, float]:
    """The cached Airflow venv's Python (built if missing) and the seconds building took."""
    # the suffix names the dependency set: a change to DEPENDENCIES changes it, so the cached
    # venv is rebuilt (``aws``: boto3 added, for @batch steps dispatched from Airflow tasks)
    tag = f"airflow-{AIRFLOW_VERSION}-py{sys.version_info.major}.{sys.version_info.minor}-aws"
    venv = CACHE / tag
    python = venv / "bin" / "python"
    started = time.monotonic()
    if not (venv / "flowkit-ready").is_file():
        shutil.rmtree(venv, ignore_errors=True)
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = CACHE / f"{tag}.partial-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(partial)], check=True)
        _pip(partial / "bin" / "python", f"apache-airflow=={AIRFLOW_VERSION}", *DEPENDENCIES)
        # a venv's scripts name its folder: build under a temporary name, then move it in place
        # only once complete (a concurrent or interrupted build never leaves a half venv)
        try:
            partial.rename(venv)
        except OSError:
            shutil.rmtree(partial, ignore_errors=True)  # another session finished first
        else:
            _fix_scripts(venv, partial)
        (venv / "flowkit-ready").write_text(AIRFLOW_VERSION)
    # this checkout, editable: its entry points (flowcommand.airflow) and its code
    _pip(python, "--no-deps", "--no-build-isolation", "-e", str(REPO))
    return python, time.monotonic() - started


def _fix_scripts(venv: Path, old: Path) -> None:
    """Point the moved venv's scripts and config at its new folder."""
    for path in [*(venv / "bin").iterdir(), venv / "pyvenv.cfg"]:
        if path.is_file() and not path.is_symlink():
            try:
                text = path.read_text()
            except UnicodeDecodeError:
                continue
            if str(old) in text:
                path.write_text(text.replace(str(old), str(venv)))


@dataclass
class AirflowEnv:
    """An Airflow installation and a fresh ``AIRFLOW_HOME`` for this session.

    Attributes:
        python: The Airflow venv's Python (with flowkit from this checkout).
        home: ``AIRFLOW_HOME``; DAG files go to ``home / "dags"``.
        env: Environment for flow commands and ``airflow`` (Airflow's settings, no examples).
        install_seconds: How long preparing the venv took in this session.
    """

    python: Path
    home: Path
    env: dict[str, str]
    install_seconds: float

    @property
    def dags(self) -> Path:
        return self.home / "dags"

    def flow(
        self, flow: Path | str, *args: str, cwd: Path, timeout: float = 300, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """``python flow.py ARGS`` with the Airflow venv's Python."""
        return subprocess.run(
            [str(self.python), str(flow), *args],
            cwd=cwd,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def airflow(
        self, *args: str, timeout: float = 600, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """``airflow ARGS`` of the venv."""
        return subprocess.run(
            [str(self.python.parent / "airflow"), *args],
            cwd=self.home,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def dags_test(
        self, dag_id: str, conf: dict | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """``airflow dags test DAG_ID -c CONF``: one DAG run, executed in that process."""
        return self.airflow("dags", "test", dag_id, "-c", json.dumps(conf or {}), **env)

    def dags_test_many(
        self, runs: Iterable[tuple[str, dict | None, dict[str, str]]], workers: int = 3
    ) -> list[subprocess.CompletedProcess[str]]:
        """Several ``dags test`` at once: ``(dag id, conf, env)`` each. Most of a task's time
        in ``dags test`` is Airflow waiting on its database, so a few overlap well; each runs
        on a copy of the migrated database of its own (SQLite locks the whole file on write)."""
        free: queue.Queue[str] = queue.Queue()
        for index in range(workers):
            copy = self.home / f"airflow-{index}.db"
            shutil.copyfile(self.home / "airflow.db", copy)
            free.put(f"sqlite:///{copy}")

        def one(dag: str, conf: dict | None, env: dict[str, str]):
            database = free.get()
            try:
                return self.dags_test(
                    dag, conf, **env, AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=database
                )
            finally:
                free.put(database)

        with ThreadPoolExecutor(workers) as pool:
            futures = [pool.submit(one, dag, conf, env) for dag, conf, env in runs]
            return [f.result() for f in futures]


def run_id_of(output: str, flow: str) -> str:
    """The flowkit run id the finish task printed (``flowkit run F/airflow-...: status``)."""
    marker = f"flowkit run {flow}/"
    for line in output.splitlines():
        if marker in line:
            return line.split(marker, 1)[1].split(":", 1)[0]
    raise AssertionError(f"no flowkit run of {flow} in the output:\n{output[-4000:]}")
