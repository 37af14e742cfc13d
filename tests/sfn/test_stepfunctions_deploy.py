"""``step-functions create`` / ``trigger`` / ``list-runs`` / ``status`` / ``delete`` against the
fake AWS (``fake_sfn``: moto's Step Functions executing, its Batch running the jobs), run as a
user runs them; a failed deployed run resumed locally; ``current.trigger``; the Deployer API."""

from __future__ import annotations

import json
from pathlib import Path

from fakesfn import SfnEnv, client_run, wait_execution
from flowtests import FlowRunner

FLOW = """
import os

from flowkit import FlowSpec, Parameter, current, step


class DeployedFlow(FlowSpec):
    alpha = Parameter("alpha", default=1, help="a number")
    marker = Parameter("marker", default="", help="fail in middle while this file exists")

    @step
    def start(self):
        self.start_trigger = current.trigger.to_dict() if current.trigger else None
        self.next(self.middle)

    @step
    def middle(self):
        if self.marker and os.path.exists(self.marker):
            raise RuntimeError("planned failure")
        self.doubled = self.alpha * 2
        self.middle_source = current.trigger.source if current.trigger else None
        self.next(self.end)

    @step
    def end(self):
        print("doubled", self.doubled)


if __name__ == "__main__":
    DeployedFlow()
"""


def _flow(tmp_path: Path, name: str) -> Path:
    """The flow above as ``name`` (each test its own state machine on the shared server)."""
    folder = tmp_path / "project"
    folder.mkdir()
    flow = folder / "deployed_flow.py"
    flow.write_text(FLOW.replace("DeployedFlow", name))
    return flow


def _sfn(runner: FlowRunner, env: SfnEnv, flow: Path, *args: str):
    return runner(flow, "step-functions", *args, timeout=120, **env.env)


def test_create_makes_the_resources_once_without_credentials(
    sfn_env: SfnEnv, tmp_path: Path
) -> None:
    flow = _flow(tmp_path, "CreatedFlow")
    runner = FlowRunner(tmp_path / "unused", tmp_path)
    first = _sfn(runner, sfn_env, flow, "create")
    assert first.returncode == 0, first.output
    assert "states:CreateStateMachine" in first.stdout
    fake = sfn_env.fake
    [machine] = [
        m for m in fake.sfn.list_state_machines()["stateMachines"] if m["name"] == "CreatedFlow"
    ]
    described = fake.sfn.describe_state_machine(stateMachineArn=machine["stateMachineArn"])
    assert described["roleArn"] == fake.sfn_role
    definition = json.loads(described["definition"])
    [job_definition] = {
        t["Parameters"]["JobDefinition"] for state in _tasks(definition) for t in [state]
    }
    [registered] = fake.batch.describe_job_definitions(
        jobDefinitionName=job_definition, status="ACTIVE"
    )["jobDefinitions"]
    container = registered["containerProperties"]
    assert container["image"] == "example.com/flowkit-aws:1.0"
    assert container["jobRoleArn"] == fake.job_role
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env["FLOWKIT_DATASTORE_ROOT"] == sfn_env.url
    assert fake.dynamodb.describe_table(TableName="flowkit-sfn")["Table"]["TableStatus"] == "ACTIVE"
    # no credential anywhere: neither the names nor the values the deploying process holds
    texts = json.dumps(registered) + described["definition"]
    for secret in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        assert secret not in texts
    assert fake.server.secret_key not in texts and fake.server.access_key not in texts
    # the same code and options again: no AWS call changes anything
    definitions = fake.batch.describe_job_definitions()["jobDefinitions"]
    again = _sfn(runner, sfn_env, flow, "create")
    assert again.returncode == 0, again.output
    assert "nothing changed" in again.stdout
    after = fake.sfn.describe_state_machine(stateMachineArn=machine["stateMachineArn"])
    assert after == {**described, "ResponseMetadata": after["ResponseMetadata"]}
    assert fake.batch.describe_job_definitions()["jobDefinitions"] == definitions
    # changed code: the state machine is updated in place, with the new code's hash
    flow.write_text(flow.read_text().replace("self.alpha * 2", "self.alpha * 2  # changed"))
    changed = _sfn(runner, sfn_env, flow, "create")
    assert changed.returncode == 0, changed.output
    assert "states:UpdateStateMachine" in changed.stdout
    assert "states:CreateStateMachine" not in changed.stdout
    # --only-json calls nothing and still prints a machine
    only = _sfn(runner, sfn_env, flow, "create", "--only-json")
    assert json.loads(only.stdout)["StartAt"] == "flowkit-input"
    # delete removes the state machine
    deleted = _sfn(runner, sfn_env, flow, "delete")
    assert deleted.returncode == 0, deleted.output
    names = [m["name"] for m in fake.sfn.list_state_machines()["stateMachines"]]
    assert "CreatedFlow" not in names
    missing = _sfn(runner, sfn_env, flow, "trigger")
    assert missing.returncode == 2 and "step-functions create" in missing.stderr


def _tasks(definition: dict) -> list[dict]:
    found = []

    def walk(states: dict) -> None:
        for state in states.values():
            if state.get("Resource", "").startswith("arn:aws:states:::batch"):
                found.append(state)
            for branch in state.get("Branches", []):
                walk(branch["States"])
            if "ItemProcessor" in state:
                walk(state["ItemProcessor"]["States"])

    walk(definition["States"])
    return found


def test_trigger_list_runs_status_and_a_failed_run_resumed_locally(
    sfn_env: SfnEnv, tmp_path: Path
) -> None:
    flow = _flow(tmp_path, "ResumedFlow")
    runner = FlowRunner(tmp_path / "unused", tmp_path)
    assert _sfn(runner, sfn_env, flow, "create").returncode == 0
    bad = _sfn(runner, sfn_env, flow, "trigger", "--alpha", "many")
    assert bad.returncode != 0 and "alpha" in bad.stderr
    marker = tmp_path / "fail-now"
    marker.write_text("")
    report = tmp_path / "run.json"
    triggered = _sfn(
        runner, sfn_env, flow, "trigger", "--alpha", "3", "--marker", str(marker),
        "--run-id-file", str(report),
    )  # fmt: skip
    assert triggered.returncode == 0, triggered.output
    run_id = triggered.stdout.strip()
    assert json.loads(report.read_text()) == {
        "flow": "ResumedFlow",
        "run_id": run_id,
        "datastore_root": sfn_env.url,
    }
    execution = wait_execution(sfn_env, "ResumedFlow", run_id)
    assert execution["status"] == "FAILED"
    failed = client_run(sfn_env, f"ResumedFlow/{run_id}")
    assert failed.status == "failed"
    assert "planned failure" in failed["middle"].task.stderr
    listed = json.loads(_sfn(runner, sfn_env, flow, "list-runs", "--json").stdout)
    assert [(r["run_id"], r["status"]) for r in listed] == [(run_id, "FAILED")]
    status = json.loads(_sfn(runner, sfn_env, flow, "status", run_id, "--json").stdout)
    assert status["status"] == "FAILED" and status["run_id"] == run_id
    # fixed (the marker gone), resumed on this machine from the failed step
    marker.unlink()
    resumed = runner(flow, "resume", "--origin-run-id", run_id, timeout=120, **sfn_env.env)
    assert resumed.returncode == 0, resumed.output
    store = sfn_env.store("ResumedFlow")
    new_run = store.latest_run_id()
    run = client_run(sfn_env, f"ResumedFlow/{new_run}")
    assert run.successful and run.data.doubled == 6
    assert run["start"].task.origin_pathspec == f"ResumedFlow/{run_id}/start/start"
    # the client lists named runs with numbered ones, newest first
    from flowkit.client import ClientContext

    flow_view = ClientContext(sfn_env.url, chosen_by="the test").flow("ResumedFlow")
    assert [r.id for r in flow_view.runs()] == [new_run, run_id]


def test_an_event_trigger_reaches_every_step(sfn_env: SfnEnv, tmp_path: Path) -> None:
    flow = _flow(tmp_path, "EventFlow")
    runner = FlowRunner(tmp_path / "unused", tmp_path)
    assert _sfn(runner, sfn_env, flow, "create").returncode == 0
    fake = sfn_env.fake
    [machine] = [
        m for m in fake.sfn.list_state_machines()["stateMachines"] if m["name"] == "EventFlow"
    ]
    # what an EventBridge rule puts in the execution input
    document = {"type": "s3", "source": "s3://bucket/incoming/a.parquet", "etag": "e1"}
    fake.sfn.start_execution(
        stateMachineArn=machine["stateMachineArn"],
        name="event-1",
        input=json.dumps({"trigger": document, "parameters": {"alpha": 5}}),
    )
    assert wait_execution(sfn_env, "EventFlow", "sfn-event-1")["status"] == "SUCCEEDED"
    run = client_run(sfn_env, "EventFlow/sfn-event-1")
    assert run["start"].task["start_trigger"].data == document
    assert run["middle"].task["middle_source"].data == "s3://bucket/incoming/a.parquet"
    assert run.data.doubled == 10


def test_deployer_api_creates_triggers_and_waits_for_the_run(
    sfn_env: SfnEnv, tmp_path: Path
) -> None:
    from flowkit import Deployer

    flow = _flow(tmp_path, "ApiFlow")
    deployer = Deployer(str(flow), show_output=False, env=sfn_env.env, cwd=tmp_path)
    deployed = deployer.step_functions().create()
    assert deployed.name == "ApiFlow" and deployed.flow_name == "ApiFlow"
    assert deployed.metadata["state_machine_arn"].endswith(":stateMachine:ApiFlow")
    assert len(deployed.metadata["code"]) == 64
    triggered = deployed.trigger(alpha=3)
    assert triggered.run_id.startswith("sfn-")
    run = triggered.wait_for_run(timeout=120)
    assert run.pathspec == f"ApiFlow/{triggered.run_id}"
    assert wait_execution(sfn_env, "ApiFlow", triggered.run_id)["status"] == "SUCCEEDED"
    assert run.successful and run.data.doubled == 6
    assert triggered.status()["status"] == "SUCCEEDED"
    assert [r["run_id"] for r in deployed.list_runs()] == [triggered.run_id]
    assert deployed.delete()


def test_project_branches_deploy_apart(sfn_env: SfnEnv, tmp_path: Path) -> None:
    from flowtests import FLOWS

    flow = FLOWS / "project" / "projectflow.py"
    runner = FlowRunner(tmp_path / "unused", tmp_path)
    for branch in (["--branch", "x"], ["--production"]):
        made = runner(flow, *branch, "step-functions", "create", timeout=120, **sfn_env.env)
        assert made.returncode == 0, made.output
    names = {m["name"] for m in sfn_env.fake.sfn.list_state_machines()["stateMachines"]}
    assert {"fraud_model.test.x.ProjectFlow", "fraud_model.prod.ProjectFlow"} <= names
    triggered = runner(
        flow, "--branch", "x", "step-functions", "trigger", timeout=60, **sfn_env.env
    )
    assert triggered.returncode == 0, triggered.output
    run_id = triggered.stdout.strip()
    execution = wait_execution(sfn_env, "fraud_model.test.x.ProjectFlow", run_id)
    assert execution["status"] == "SUCCEEDED"
    run = client_run(sfn_env, f"ProjectFlow/{run_id}")
    assert run["end"].task["seen_end"].data == {
        "project_name": "fraud_model",
        "branch_name": "test.x",
        "is_production": False,
        "project_flow_name": "fraud_model.test.x.ProjectFlow",
    }
    assert "project_branch:test.x" in run.system_tags
    for branch in (["--branch", "x"], ["--production"]):
        gone = runner(flow, *branch, "step-functions", "delete", timeout=60, **sfn_env.env)
        assert gone.returncode == 0, gone.output


def test_the_plugin_registers_its_settings_and_deployer() -> None:
    from flowkit.registry import registry
    from flowkit_sfn.deployer import StepFunctionsDeployer
    from flowkit_sfn.settings import SfnSettings

    assert "sfn" in registry().names("settings")
    assert registry().get("deployer", "step-functions") is StepFunctionsDeployer
    assert SfnSettings().table == "flowkit-sfn" and SfnSettings().role_arn is None
