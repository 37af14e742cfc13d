"""``Deployer("flow.py").airflow()``: the Airflow deployer of :mod:`flowkit.runner_api.deployer`.

``create(dag_file="dags/x.py")`` runs ``python flow.py airflow create --dag-file dags/x.py``;
the DeployedFlow's ``trigger(alpha=3)`` runs ``python flow.py airflow trigger --alpha 3``, which
runs the DAG to its end with ``airflow dags test`` (a local Airflow, found through the
``airflow_bin`` setting and ``AIRFLOW_HOME``; give them in ``Deployer(env={...})``).
"""

from __future__ import annotations

from typing import ClassVar

from flowkit.extend import DeployerImpl


class AirflowDeployer(DeployerImpl):
    """Deploys a flow as an Airflow DAG file; its runs are ``airflow-<dag run id>``."""

    TYPE: ClassVar[str] = "airflow"
