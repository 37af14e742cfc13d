"""The Airflow plugin's settings: ``airflow_bin`` (``FLOWKIT_AIRFLOW_BIN``) and
``airflow_poll_seconds`` (``FLOWKIT_AIRFLOW_POLL_SECONDS``), read like flowkit's
own and listed by ``flowkit config`` (registered as ``settings.airflow``; imports no Airflow)."""

from __future__ import annotations

from dataclasses import dataclass

from flowkit.extend import declare_settings


@dataclass(frozen=True)
class AirflowSettings:
    """How ``python flow.py airflow trigger`` reaches Airflow, and how often DAGs poll.

    Attributes:
        bin: The ``airflow`` command of the Airflow installation that runs the DAGs
            (``airflow_bin``); it finds its DAGs folder and database through ``AIRFLOW_HOME``.
        poll_seconds: How often the DAG of a flow with ``@trigger`` looks for a new object
            (``airflow_poll_seconds``), read at ``create``.
    """

    bin: str = "airflow"
    poll_seconds: int = 60


SETTINGS = declare_settings("airflow", AirflowSettings)
