"""Start and resume runs from Python: :class:`Runner` for flow files, :class:`NBRunner` for a
flow class defined in a notebook cell; :class:`Deployer` to deploy a flow file to an
orchestrator. Mirrors Metaflow's Runner and Deployer APIs."""

from flowkit.runner_api.deployer import DeployedFlow, Deployer, DeployerError, TriggeredRun
from flowkit.runner_api.executing import ExecutingRun, RunnerError
from flowkit.runner_api.nbrunner import NBRunner
from flowkit.runner_api.runner import Runner
from flowkit.runner_api.spinning import ExecutingSpin

__all__ = [
    "DeployedFlow",
    "Deployer",
    "DeployerError",
    "ExecutingRun",
    "ExecutingSpin",
    "NBRunner",
    "Runner",
    "RunnerError",
    "TriggeredRun",
]
