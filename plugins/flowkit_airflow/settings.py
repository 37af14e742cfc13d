"""The Airflow plugin's settings: ``airflow_bin`` (``FLOWKIT_AIRFLOW_BIN``), read like flowkit's
own and listed by ``flowkit config`` (registered as ``settings.airflow``; imports no Airflow)."""

from __future__ import annotations

from dataclasses import dataclass

from flowkit.extend import declare_settings


@dataclass(frozen=True)
class AirflowSettings:
    """How ``python flow.py airflow trigger`` reaches Airflow.

    Attributes:
        bin: The ``airflow`` command of the Airflow installation that runs the DAGs
            (``airflow_bin``); it finds its DAGs folder and database through ``AIRFLOW_HOME``.
    """

    bin: str = "airflow"


SETTINGS = declare_settings("airflow", AirflowSettings)
