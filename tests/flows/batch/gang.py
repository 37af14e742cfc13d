"""A @parallel gang on AWS Batch: one multi-node job whose nodes meet over TCP at the main
node's address, then report what they knew of the gang.

``--fail-node N`` makes node N's task raise after the rendezvous. The tests
pick the rendezvous port with ``--with environment:vars={"MASTER_PORT": ...}``.
"""

import os
import socket
import time

from flowkit import FlowSpec, Parameter, batch, current, parallel, step

TIMEOUT_S = 60


def rendezvous(info, port):
    """Node 0 accepts one hello per other node; the others connect until node 0 listens."""
    if info.node_index == 0:
        heard = []
        with socket.create_server(("0.0.0.0", port)) as server:
            server.settimeout(TIMEOUT_S)
            for _ in range(info.num_nodes - 1):
                conn, _addr = server.accept()
                with conn:
                    heard.append(conn.recv(100).decode())
                    conn.sendall(b"welcome")
        return sorted(heard)
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        try:
            with socket.create_connection((info.main_ip, port), timeout=5) as conn:
                conn.sendall(f"node {info.node_index}".encode())
                return conn.recv(100).decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class BatchGangFlow(FlowSpec):
    nodes = Parameter("nodes", default=3)
    fail_node = Parameter("fail_node", default=-1, help="a node that raises on purpose")

    @step
    def start(self):
        self.next(self.train, num_parallel=self.nodes)

    @batch(cpu=1)
    @parallel
    @step
    def train(self):
        info = current.parallel
        self.said = rendezvous(info, int(os.environ["MASTER_PORT"]))
        self.info = tuple(info)
        self.batch = {
            name: os.environ.get(name)
            for name in ("AWS_BATCH_JOB_ID", "AWS_BATCH_JOB_NODE_INDEX", "AWS_BATCH_JOB_NUM_NODES")
        }
        self.rank = (os.environ["RANK"], os.environ["WORLD_SIZE"], os.environ["MASTER_ADDR"])
        if self.fail_node == info.node_index:
            raise ValueError(f"node {info.node_index} fails on purpose")
        self.next(self.join)

    @step
    def join(self, inputs):
        self.infos = [inp.info for inp in inputs]
        self.said = [inp.said for inp in inputs]
        self.batch = [inp.batch for inp in inputs]
        self.ranks = [inp.rank for inp in inputs]
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    BatchGangFlow()
