"""A @parallel gang: each node proves the others run at the same time, then reports what it
knows of the gang.

Environment (set by the tests):
    GANG_MARKERS: folder where each node writes a marker and waits for all the others.
    GANG_FAIL_NODE: index of a node that raises once every marker is there (the others then
        wait for a file that never comes: only being stopped ends them).
    GANG_FAIL_AFTER_PEERS: with GANG_FAIL_NODE, the other nodes finish normally and the
        failing node raises only after they have.
"""

import os
import time
from pathlib import Path

from flowkit import FlowSpec, Parameter, current, parallel, step


class GangFlow(FlowSpec):
    nodes = Parameter("nodes", default=3, help="size of the gang")

    @step
    def start(self):
        self.seed = 7
        self.parallel_in_start = current.parallel  # None: not a gang step
        self.next(self.train, num_parallel=self.nodes)

    @parallel
    @step
    def train(self):
        info = current.parallel
        markers = Path(os.environ["GANG_MARKERS"])
        (markers / f"node{info.node_index}").write_text(str(os.getpid()))
        deadline = time.monotonic() + 60
        while len(list(markers.glob("node*"))) < info.num_nodes:
            if time.monotonic() > deadline:
                raise RuntimeError("the other nodes of the gang did not start")
            time.sleep(0.05)
        failing = os.environ.get("GANG_FAIL_NODE")
        after_peers = bool(os.environ.get("GANG_FAIL_AFTER_PEERS"))
        if failing == str(info.node_index):
            if after_peers:  # wait until the others finished their step (and committed)
                while len(list(markers.glob("done*"))) < info.num_nodes - 1:
                    time.sleep(0.05)
                time.sleep(2)
            raise ValueError(f"node {info.node_index} fails on purpose")
        if failing and not after_peers:
            while not (markers / "never").exists():
                time.sleep(0.05)
        self.info = tuple(info)
        self.node_input = self.input
        self.node_index = self.index
        names = (
            "MF_PARALLEL_MAIN_IP",
            "MF_PARALLEL_NUM_NODES",
            "MF_PARALLEL_NODE_INDEX",
            "MF_PARALLEL_CONTROL_TASK_ID",
            "MASTER_ADDR",
            "MASTER_PORT",
            "WORLD_SIZE",
            "RANK",
        )
        self.env = {name: os.environ.get(name) for name in names}
        self.task = current.task_id
        (markers / f"done{info.node_index}").write_text("")
        self.next(self.join)

    @step
    def join(self, inputs):
        self.infos = [inp.info for inp in inputs]
        self.inputs_order = [inp.node_index for inp in inputs]
        self.node_inputs = [inp.node_input for inp in inputs]
        self.envs = [inp.env for inp in inputs]
        self.tasks = [inp.task for inp in inputs]
        self.merge_artifacts(inputs, include=["seed"])
        self.next(self.end)

    @step
    def end(self):
        self.result = {"infos": self.infos, "order": self.inputs_order, "seed": self.seed}


if __name__ == "__main__":
    GangFlow()
