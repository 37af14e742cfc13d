"""Deploying a flow to Apache Airflow 3: one self-contained DAG file per flow.

:func:`~flowkit_airflow.dagfile.build_dag_file` turns a flow's graph into the DAG's source;
``python flow.py airflow create`` (:mod:`flowkit_airflow.cli`) uploads the code snapshot and
writes it; each Airflow task runs ``python -m flowkit_airflow.task`` through
:mod:`flowkit_airflow.worker`. Nothing here imports Airflow at module level: only the generated
DAG file and the worker's functions do. (This module imports no submodule, so that
``python -m flowkit_airflow.task`` starts cleanly.)
"""
