"""``@parallel`` gangs run as users run them (``python flow.py run``): every node starts at the
same time, knows its place (``current.parallel``), can reach node 0 over TCP, and the join gets
the nodes' results in node order. A failing node fails the whole gang and the run; a resume runs
the whole gang again.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from flowtests import FLOWS, FlowRunner, end_artifact

GANG = FLOWS / "parallel" / "gang.py"
RENDEZVOUS = FLOWS / "parallel" / "rendezvous.py"
NESTED = FLOWS / "parallel" / "nested_gang.py"


@pytest.fixture
def markers(tmp_path: Path) -> Path:
    folder = tmp_path / "markers"
    folder.mkdir()
    return folder


def _join(store, run_id: str):
    [task_id] = store.tasks(run_id, "join")
    manifest = store.read_manifest(run_id, "join", task_id)
    return {name: store.load_artifact(ref) for name, ref in manifest.artifacts.items()}


def _gang_manifests(store, run_id: str):
    found = [m for m in store.manifests(run_id) if m.step == "train"]
    return sorted(found, key=lambda m: m.foreach_stack[-1].index)


@pytest.mark.parametrize("launcher", ["fork", "spawn"])
def test_gang_runs_together_and_the_join_gets_every_node_in_order(
    run_flow: FlowRunner, markers: Path, launcher: str
) -> None:
    # --max-workers 1: a gang larger than the limit still starts all its nodes at once
    # (each node waits for the markers of all the others, so a serial start would time out)
    result = run_flow(
        GANG,
        "run",
        "--nodes",
        "3",
        "--max-workers",
        "1",
        "--launcher",
        launcher,
        GANG_MARKERS=str(markers),
    )
    assert result.returncode == 0, result.output
    assert "starts 3 tasks at once, more than the limit of 1" in result.stderr
    store = run_flow.store("GangFlow")
    joined = _join(store, "1")
    assert joined["inputs_order"] == [0, 1, 2]
    assert joined["node_inputs"] == [0, 1, 2]  # self.input of a node is its index
    control = joined["tasks"][0]
    port = joined["infos"][0][4]
    assert isinstance(port, int) and 0 < port < 65536
    assert joined["infos"] == [("127.0.0.1", 3, i, control, port) for i in range(3)]
    assert joined["envs"][2] == {
        "MF_PARALLEL_MAIN_IP": "127.0.0.1",
        "MF_PARALLEL_NUM_NODES": "3",
        "MF_PARALLEL_NODE_INDEX": "2",
        "MF_PARALLEL_CONTROL_TASK_ID": control,
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(port),
        "WORLD_SIZE": "3",
        "RANK": "2",
    }
    assert joined["seed"] == 7
    assert end_artifact(store, "1")["order"] == [0, 1, 2]
    # every node was running while the others wrote their markers: their pids all differ
    assert len({p.read_text() for p in markers.glob("node*")}) == 3


def test_the_client_shows_the_gang_tasks(run_flow: FlowRunner, markers: Path) -> None:
    from flowkit import Flow, namespace, set_datastore_root

    result = run_flow(GANG, "run", "--nodes", "2", GANG_MARKERS=str(markers))
    assert result.returncode == 0, result.output
    set_datastore_root(str(run_flow.root))
    namespace(None)
    run = Flow("GangFlow").latest_run
    tasks = sorted(run["train"], key=lambda t: t.index)
    assert [t.index for t in tasks] == [0, 1]
    control = tasks[0].id
    assert [t.parallel for t in tasks] == [
        {"node_index": i, "num_nodes": 2, "main_ip": "127.0.0.1", "control_task_id": control}
        for i in range(2)
    ]
    assert "node 1 of 2" in repr(tasks[1])
    assert tasks[1].to_dict()["parallel"]["node_index"] == 1
    assert run["start"].task.parallel is None
    assert run["start"].task.data.parallel_in_start is None
    assert len(run["join"].task.parent_task_pathspecs) == 2


def test_a_failing_node_fails_the_gang_and_the_run(run_flow: FlowRunner, markers: Path) -> None:
    started = time.monotonic()
    result = run_flow(
        GANG, "run", "--nodes", "3", GANG_MARKERS=str(markers), GANG_FAIL_NODE="1", timeout=60
    )
    # the other nodes wait for a file that never comes: only being stopped ends them
    assert time.monotonic() - started < 30
    assert result.returncode == 1, result.output
    assert "ValueError: node 1 fails on purpose" in result.stderr
    assert "(node 1 of a @parallel gang) failed with ValueError; the gang fails as a whole" in (
        result.stderr
    )
    assert "run GangFlow/1 failed" in result.stderr
    assert "resume" in result.stderr
    gang = _gang_manifests(run_flow.store("GangFlow"), "1")
    assert [m.status for m in gang] == ["failed"] * 3
    kinds = [m.failure.kind for m in gang if m.failure]
    assert kinds == ["gang", "exception", "gang"]
    assert "stopped because node 1 of its @parallel gang" in gang[0].failure.message
    assert not run_flow.store("GangFlow").tasks("1", "join")


def test_resume_after_a_failure_runs_the_whole_gang_again(
    run_flow: FlowRunner, markers: Path
) -> None:
    # node 2 fails only after nodes 0 and 1 have succeeded: a resume must still rerun them,
    # as a lone node 2 would wait for peers that are not there
    failed = run_flow(
        GANG,
        "run",
        "--nodes",
        "3",
        GANG_MARKERS=str(markers),
        GANG_FAIL_NODE="2",
        GANG_FAIL_AFTER_PEERS="1",
    )
    assert failed.returncode == 1, failed.output
    store = run_flow.store("GangFlow")
    assert [m.status for m in _gang_manifests(store, "1")] == ["succeeded", "succeeded", "failed"]
    for marker in markers.iterdir():
        marker.unlink()
    resumed = run_flow(GANG, "resume", GANG_MARKERS=str(markers))
    assert resumed.returncode == 0, resumed.output
    gang = _gang_manifests(store, "2")
    assert len(gang) == 3
    assert all(m.status == "succeeded" and m.origin_pathspec is None for m in gang)
    [start] = [m for m in store.manifests("2") if m.step == "start"]
    assert start.origin_pathspec is not None  # what came before the gang is cloned
    assert end_artifact(store, "2")["order"] == [0, 1, 2]


def test_resume_clones_a_gang_that_succeeded_whole(run_flow: FlowRunner, markers: Path) -> None:
    first = run_flow(GANG, "run", "--nodes", "2", GANG_MARKERS=str(markers))
    assert first.returncode == 0, first.output
    again = run_flow(GANG, "resume", "end", GANG_MARKERS=str(markers))
    assert again.returncode == 0, again.output
    gang = _gang_manifests(run_flow.store("GangFlow"), "2")
    assert len(gang) == 2 and all(m.origin_pathspec for m in gang)


def test_a_gang_in_each_foreach_split_is_joined_on_its_own(run_flow: FlowRunner) -> None:
    # --max-workers 3: the second gang of 2 waits until the first has room, then starts whole
    result = run_flow(NESTED, "run", "--max-workers", "3")
    assert result.returncode == 0, result.output
    assert "more than the limit" not in result.stderr
    groups = end_artifact(run_flow.store("NestedGangFlow"), "1")
    assert [[tag[:3] for tag in gang] for gang in groups] == [
        [("a", 0, 2), ("a", 1, 2)],
        [("b", 0, 2), ("b", 1, 2)],
    ]
    for gang in groups:  # each gang's control task is its own node 0
        assert {tag[3] for tag in gang} == {gang[0][4]}


@pytest.mark.parametrize("launcher", ["fork", "spawn"])
def test_two_nodes_talk_over_tcp_at_the_main_node_address(
    run_flow: FlowRunner, launcher: str
) -> None:
    result = run_flow(RENDEZVOUS, "run", "--launcher", launcher)
    assert result.returncode == 0, result.output
    store = run_flow.store("RendezvousFlow")
    joined = _join(store, "1")
    main_pid, other_pid = joined["pids"]
    assert main_pid != other_pid
    assert joined["conversation"] == [["node 1"], f"welcome node 1 from node 0 pid {main_pid}"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "num_parallel=0 must be a whole number >= 1"),
        ('"2"', "num_parallel='2' must be a whole number >= 1"),
    ],
)
def test_a_bad_num_parallel_fails_the_task_clearly(
    run_flow: FlowRunner, tmp_path: Path, value: str, message: str
) -> None:
    flow = tmp_path / "bad_gang.py"
    flow.write_text(GANG.read_text().replace("num_parallel=self.nodes", f"num_parallel={value}"))
    result = run_flow(flow, "run")
    assert result.returncode == 1, result.output
    assert message in result.stderr
    assert "bad_gang.py:" in result.stderr  # where self.next was called
