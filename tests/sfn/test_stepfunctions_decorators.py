"""``@retry``, ``@catch`` and ``@timeout`` in a deployed flow, end to end in the fake AWS: a
retried step is a new Batch job per attempt (Step Functions' ``Retry``), ``@catch`` and
``@timeout`` are applied by the task itself; the results equal a local run's."""

from __future__ import annotations

from pathlib import Path

from fakesfn import SfnEnv, client_run, client_run_at, wait_execution
from flowtests import FlowRunner
from test_stepfunctions_execute import deploy_and_trigger

FLOW = """
import time

from flowkit import FlowSpec, Parameter, catch, current, retry, step, timeout


class SturdyFlow(FlowSpec):
    flaky_times = Parameter("flaky_times", default=2, help="attempts of start that fail")

    @retry(times=2, minutes_between_retries=0)
    @step
    def start(self):
        self.attempts = current.retry_count
        if current.retry_count < self.flaky_times:
            raise RuntimeError(f"flaky on attempt {current.retry_count}")
        self.next(self.doomed)

    @catch(var="doom")
    @step
    def doomed(self):
        if self.attempts >= 0:
            raise ValueError("doomed step failed")
        self.next(self.slow)

    @catch(var="slow_error")
    @timeout(seconds=2)
    @step
    def slow(self):
        time.sleep(30)
        self.slow_done = True
        self.next(self.end)

    @step
    def end(self):
        self.result = {
            "attempts": self.attempts,
            "doom": (self.doom.type, self.doom.message),
            "slow_caught": self.slow_error is not None,
            "slow_done": hasattr(self, "slow_done"),
        }
        print("result", self.result)


if __name__ == "__main__":
    SturdyFlow()
"""


def test_retry_catch_and_timeout_behave_as_locally(sfn_env: SfnEnv, tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    flow = folder / "sturdy.py"
    flow.write_text(FLOW)
    runner = FlowRunner(tmp_path / "local", tmp_path)
    local = runner(flow, "run")
    assert local.returncode == 0, local.output
    run_id = deploy_and_trigger(sfn_env, runner, flow)
    assert wait_execution(sfn_env, "SturdyFlow", run_id)["status"] == "SUCCEEDED"
    run = client_run(sfn_env, f"SturdyFlow/{run_id}")
    local_run = client_run_at(
        str(tmp_path / "local"), f"SturdyFlow/{runner.store('SturdyFlow').latest_run_id()}"
    )
    expected = {
        "attempts": 2,
        "doom": ("ValueError", "doomed step failed"),
        "slow_caught": True,
        "slow_done": False,
    }
    assert local_run.data.result == expected
    assert run.successful and run.data.result == expected
    # three Batch jobs for start, one per attempt, each its own attempt in the datastore
    start_jobs = [
        j for j in sfn_env.fake.jobs("SturdyFlow-start") if run_id in str(j["container"]["command"])
    ]
    assert len(start_jobs) == 3
    assert run["start"].task.current_attempt == 2
    assert "exceeded its @timeout" in str(run["slow"].task["slow_error"].data.message)
