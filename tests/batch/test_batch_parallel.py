"""A @parallel gang on (fake) AWS Batch: one multi-node parallel job, its nodes started together,
finding the main node at the address Batch gives them, the join getting every node in order.

moto registers and describes ``multinode`` job definitions but does not run them nor read
``nodeOverrides``; the fake Batch (``tests/batch/moto_batch_server.py``) runs one process per
node with Batch's node variables, as documented by AWS. What AWS itself would do beyond that
(placement, networking between instances) is not exercised here.
"""

from __future__ import annotations

from flowtests import FLOWS
from s3servers import free_ports

GANG = FLOWS / "batch" / "gang.py"


def _port(port: int) -> list[str]:
    """The rendezvous port for the gang (``MASTER_PORT``), free on this machine."""
    return ["--with", f'environment:vars={{"MASTER_PORT":"{port}"}}']


def _join(store, run_id: str):
    [task_id] = store.tasks(run_id, "join")
    manifest = store.read_manifest(run_id, "join", task_id)
    return {name: store.load_artifact(ref) for name, ref in manifest.artifacts.items()}


def test_a_gang_runs_as_one_multi_node_job(batch_flow):
    [port] = free_ports(1)
    result = batch_flow(GANG, "run", "--nodes", "3", *_port(port))
    assert result.returncode == 0, result.output
    store = batch_flow.store("BatchGangFlow")
    joined = _join(store, "1")
    control = store.tasks("1", "train")[0]
    host = joined["infos"][0][0]  # node 0's own address (the other nodes get Batch's)
    assert joined["infos"] == [
        (host, 3, 0, control, port),
        ("127.0.0.1", 3, 1, control, port),
        ("127.0.0.1", 3, 2, control, port),
    ]
    assert joined["said"] == [["node 1", "node 2"], "welcome", "welcome"]
    assert [b["AWS_BATCH_JOB_NODE_INDEX"] for b in joined["batch"]] == ["0", "1", "2"]
    assert {b["AWS_BATCH_JOB_NUM_NODES"] for b in joined["batch"]} == {"3"}
    job_ids = {b["AWS_BATCH_JOB_ID"].partition("#")[0] for b in joined["batch"]}
    assert len(job_ids) == 1  # one job for the whole gang
    assert [r[:2] for r in joined["ranks"]] == [("0", "3"), ("1", "3"), ("2", "3")]
    [job_id] = job_ids
    [job] = batch_flow.fake.batch.describe_jobs(jobs=[job_id])["jobs"]
    assert job["status"] == "SUCCEEDED"
    assert job["jobName"].endswith("-gang-a0")
    assert job["nodeProperties"]["numNodes"] == 3
    assert job["nodeProperties"]["mainNode"] == 0
    [definition] = batch_flow.fake.batch.describe_job_definitions(
        jobDefinitions=[job["jobDefinition"]]
    )["jobDefinitions"]
    assert definition["type"] == "multinode"
    assert "submitted 3 tasks" in result.stderr
    assert "Batch multi-node job" in result.stderr


def test_a_failing_node_fails_the_gang_job_and_the_run(batch_flow):
    [port] = free_ports(1)
    result = batch_flow(GANG, "run", "--nodes", "2", "--fail-node", "1", *_port(port))
    assert result.returncode == 1, result.output
    assert "ValueError: node 1 fails on purpose" in result.output
    assert "the gang fails as a whole" in result.stderr
    store = batch_flow.store("BatchGangFlow")
    statuses = {m.task_id: m.status for m in store.manifests("1") if m.step == "train"}
    assert sorted(statuses.values()) == ["failed", "succeeded"]
    assert not store.tasks("1", "join")
    jobs = [j for j in batch_flow.fake.jobs("BatchGangFlow-1-train-") if j["status"] == "FAILED"]
    assert jobs  # the main node saw its peer fail and failed the job
