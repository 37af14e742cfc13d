"""Start and resume runs from Python: :class:`Runner` for flow files, :class:`NBRunner` for a
flow class defined in a notebook cell. Mirrors Metaflow's Runner API."""

from flowkit.runner_api.executing import ExecutingRun, RunnerError
from flowkit.runner_api.nbrunner import NBRunner
from flowkit.runner_api.runner import Runner
from flowkit.runner_api.spinning import ExecutingSpin

__all__ = ["ExecutingRun", "ExecutingSpin", "NBRunner", "Runner", "RunnerError"]
