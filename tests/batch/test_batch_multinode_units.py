"""The pieces of a multi-node job the fake Batch cannot show: node jobs described by AWS
(``JOBID#i``), and Batch's node variables turned into the gang's."""

from __future__ import annotations

import socket

from flowkit.runtime.remote import JobReport, Submission
from flowkit.runtime.spec import TaskSpec
from flowkit_batch.multinode import describe_nodes, export_gang_environment, multinode_definition


def _subs(job_id: str, n: int) -> list[Submission]:
    return [
        Submission(TaskSpec("train", str(2 + i), 0, []), f"{job_id}#{i}", f"j#{i}")
        for i in range(n)
    ]


def _report(answer: dict) -> JobReport:
    return JobReport(answer["status"], "done", log_stream=answer.get("log"))


def test_node_jobs_are_read_as_aws_describes_them() -> None:
    asked: list[list[str]] = []

    def describe(ids: list[str]) -> list[dict]:
        asked.append(ids)
        return [
            {"jobId": "J", "status": "RUNNING", "log": "whole"},
            {"jobId": "J#0", "status": "SUCCEEDED", "log": "node0"},
            {"jobId": "J#1", "status": "FAILED", "log": "node1"},
        ]

    reports = describe_nodes(describe, _subs("J", 2), _report)
    assert asked == [["J#0", "J#1", "J"]]
    assert (reports["J#0"].state, reports["J#0"].log_stream) == ("SUCCEEDED", "node0")
    assert (reports["J#1"].state, reports["J#1"].log_stream) == ("FAILED", "node1")


def test_without_node_jobs_the_whole_job_stands_for_each_node() -> None:
    def describe(ids: list[str]) -> list[dict]:
        return [{"jobId": "J", "status": "RUNNING", "log": "whole"}]

    reports = describe_nodes(describe, _subs("J", 3), _report)
    assert [reports[f"J#{i}"].state for i in range(3)] == ["RUNNING"] * 3
    # one node streams the job's log, the others would only repeat it
    assert [reports[f"J#{i}"].log_stream for i in range(3)] == ["whole", None, None]


def test_a_multinode_definition_keeps_the_single_node_container() -> None:
    single = {
        "type": "container",
        "containerProperties": {"image": "img", "command": ["python"]},
        "retryStrategy": {"attempts": 1},
        "platformCapabilities": ["EC2"],
    }
    body = multinode_definition(single, 4)
    assert body["type"] == "multinode"
    assert "containerProperties" not in body
    assert body["nodeProperties"] == {
        "numNodes": 4,
        "mainNode": 0,
        "nodeRangeProperties": [
            {"targetNodes": "0:", "container": {"image": "img", "command": ["python"]}}
        ],
    }
    assert body["retryStrategy"] == {"attempts": 1}


ARGVS = [["step", "train", "--task-id", str(7 + i), "--run-id", "3"] for i in range(3)]


def test_a_child_node_finds_the_main_node_at_the_address_batch_gives() -> None:
    env = {
        "AWS_BATCH_JOB_NODE_INDEX": "2",
        "AWS_BATCH_JOB_NUM_NODES": "3",
        "AWS_BATCH_JOB_MAIN_NODE_INDEX": "0",
        "AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS": "10.0.0.5",
    }
    export_gang_environment(env, ARGVS)
    assert env["MF_PARALLEL_MAIN_IP"] == env["MASTER_ADDR"] == "10.0.0.5"
    assert (env["MF_PARALLEL_NODE_INDEX"], env["RANK"]) == ("2", "2")
    assert (env["MF_PARALLEL_NUM_NODES"], env["WORLD_SIZE"]) == ("3", "3")
    assert env["MF_PARALLEL_CONTROL_TASK_ID"] == "7"
    assert env["MASTER_PORT"] == "29500"  # torch's default when @environment sets none


def test_the_main_node_uses_its_own_address_and_a_given_port() -> None:
    env = {
        "AWS_BATCH_JOB_NODE_INDEX": "0",
        "AWS_BATCH_JOB_NUM_NODES": "3",
        "AWS_BATCH_JOB_MAIN_NODE_INDEX": "0",
        "MASTER_PORT": "23456",
    }
    export_gang_environment(env, ARGVS)
    assert env["MF_PARALLEL_MAIN_IP"] == socket.gethostbyname(socket.gethostname())
    assert env["MASTER_PORT"] == "23456"
