"""``step-functions create --profile/--catalog``: the deployed runs record that catalog and
profile, and their tasks (Batch jobs with no FLOWKIT_PROFILE) read through it."""

from __future__ import annotations

from pathlib import Path

from fakesfn import SfnEnv, client_run, wait_execution
from flowtests import FlowRunner
from profileproject import GREETING_CATALOG, write_project

FLOW = """
from flowkit import FlowSpec, step


class SfnCatalogFlow(FlowSpec):
    @step
    def start(self):
        self.first = self.catalog.load("greeting")
        self.next(self.end)

    @step
    def end(self):
        self.second = self.catalog.load("greeting")
        self.profile = self.catalog.profile
"""

MAIN = """

if __name__ == "__main__":
    SfnCatalogFlow()
"""


def _project(folder: Path) -> Path:
    flow = write_project(folder, FLOW + MAIN)
    (folder / "other.toml").write_text(GREETING_CATALOG.replace("data/x.txt", "data/other.txt"))
    return flow


def _job_logs(env: SfnEnv) -> str:
    """The failed jobs' output, for the assertion message."""
    out = []
    for job in env.fake.jobs("SfnCatalogFlow"):
        stream = job.get("container", {}).get("logStreamName")
        if job["status"] != "FAILED" or not stream:
            continue
        events = env.fake.logs.get_log_events(logGroupName="/aws/batch/job", logStreamName=stream)
        out += [e["message"] for e in events["events"]]
    return "\n".join(out)


def _deploy_and_run(env: SfnEnv, runner: FlowRunner, flow: Path, *options: str):
    created = runner(flow, "step-functions", "create", *options, timeout=120, **env.env)
    assert created.returncode == 0, created.output
    triggered = runner(flow, "step-functions", "trigger", timeout=60, **env.env)
    assert triggered.returncode == 0, triggered.output
    run_id = triggered.stdout.strip().splitlines()[-1]
    execution = wait_execution(env, "SfnCatalogFlow", run_id)
    assert execution["status"] == "SUCCEEDED", _job_logs(env)
    return run_id


def test_deployed_runs_use_the_profile_given_to_create(sfn_env: SfnEnv, tmp_path: Path) -> None:
    flow = _project(tmp_path / "proj")
    runner = FlowRunner(tmp_path / "unused", tmp_path)
    runner.env = {k: v for k, v in runner.env.items() if not k.startswith("FLOWKIT_PROFILE")}
    run_id = _deploy_and_run(sfn_env, runner, flow, "--profile", "x")
    run = client_run(sfn_env, f"SfnCatalogFlow/{run_id}")
    assert (run.data.first, run.data.second, run.data.profile) == ("x data", "x data", "x")
    record = sfn_env.store("SfnCatalogFlow").run_record(run_id)
    assert record.catalog is not None and record.catalog.profile == "x"
    assert record.catalog.path == str(tmp_path / "proj" / "catalog.toml")

    # --catalog chooses the file; without --profile, the defaults
    run_id = _deploy_and_run(sfn_env, runner, flow, "--catalog", str(flow.parent / "other.toml"))
    run = client_run(sfn_env, f"SfnCatalogFlow/{run_id}")
    assert (run.data.second, run.data.profile) == ("default data", "default")
    record = sfn_env.store("SfnCatalogFlow").run_record(run_id)
    assert record.catalog is not None and record.catalog.path.endswith("other.toml")


def test_create_refuses_an_unknown_profile(sfn_env: SfnEnv, tmp_path: Path) -> None:
    flow = _project(tmp_path / "proj")
    runner = FlowRunner(tmp_path / "unused", tmp_path)
    created = runner(flow, "step-functions", "create", "--profile", "prod", **sfn_env.env)
    assert created.returncode != 0
    assert "no profile 'prod'" in created.output


def test_the_deployer_api_takes_the_profile(sfn_env: SfnEnv, tmp_path: Path) -> None:
    """``Deployer(...).step_functions().create(profile=...)``: the notebook way to the same
    pinned profile (keyword arguments become ``create``'s options)."""
    from flowkit import Deployer

    flow = _project(tmp_path / "proj")
    env = {k: v for k, v in sfn_env.env.items() if k != "FLOWKIT_PROFILE"}
    deployer = Deployer(str(flow), show_output=False, env=env, cwd=flow.parent)
    deployed = deployer.step_functions().create(profile="x")
    run = deployed.trigger().wait_for_run(timeout=120)
    assert wait_execution(sfn_env, "SfnCatalogFlow", run.id)["status"] == "SUCCEEDED"
    assert (run.data.first, run.data.profile) == ("x data", "x")
    assert run.catalog is not None and run.catalog.profile == "x"
    assert "profile" in run.catalog.text  # the catalog file as the run read it
    assert deployed.delete()
