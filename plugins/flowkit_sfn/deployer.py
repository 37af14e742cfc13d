"""``Deployer("flow.py").step_functions()``: the Deployer API's door to this plugin.

Everything is done by the ``step-functions`` flow command in a subprocess (``create
--deployer-attribute-file``, ``trigger --run-id-file``, ``list-runs --json``, ``status --json``,
``delete``), as :mod:`flowkit.runner_api.deployer` describes; this class only names it.
"""

from __future__ import annotations

from typing import ClassVar

from flowkit.extend import DeployerImpl


class StepFunctionsDeployer(DeployerImpl):
    """Deploys to AWS Step Functions + AWS Batch (``python flow.py step-functions ...``)."""

    TYPE: ClassVar[str] = "step-functions"
