"""A @parallel gang whose nodes record when their step started and meet over TCP (node 0
listens on main_ip:main_port, the others connect). mf_gang.py would be this file with the
import line changed; the benchmark writes it on the fly when Metaflow is installed."""

import socket
import time

from flowkit import FlowSpec, Parameter, current, parallel, step


class GangBenchFlow(FlowSpec):
    nodes = Parameter("nodes", default=4)

    @step
    def start(self):
        self.next(self.train, num_parallel=self.nodes)

    @parallel
    @step
    def train(self):
        self.started = time.time()
        p = current.parallel
        port = getattr(p, "main_port", None) or 29500
        if p.node_index == 0:
            with socket.create_server(("0.0.0.0", port)) as server:
                for _ in range(p.num_nodes - 1):
                    conn, _ = server.accept()
                    conn.close()
        else:
            while True:
                try:
                    socket.create_connection((p.main_ip, port), timeout=5).close()
                    break
                except OSError:
                    time.sleep(0.01)
        self.met = time.time()
        self.next(self.join)

    @step
    def join(self, inputs):
        self.started = [i.started for i in inputs]
        self.met = [i.met for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    GangBenchFlow()
