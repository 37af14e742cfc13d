"""Two nodes of a @parallel gang find each other over TCP, as torch.distributed would.

Node 0 listens on current.parallel.main_ip and main_port (MASTER_ADDR/MASTER_PORT); every
other node connects there, says who it is and gets an answer from node 0.
"""

import os
import socket
import time

from flowkit import FlowSpec, current, parallel, step

TIMEOUT_S = 60


def serve(main_ip, port, peers):
    """Node 0: accept one connection per peer; answer each with what it heard."""
    heard = []
    with socket.create_server((main_ip, port)) as server:
        server.settimeout(TIMEOUT_S)
        for _ in range(peers):
            conn, _addr = server.accept()
            with conn:
                conn.settimeout(TIMEOUT_S)
                hello = conn.recv(1024).decode()
                heard.append(hello)
                conn.sendall(f"welcome {hello} from node 0 pid {os.getpid()}".encode())
    return sorted(heard)


def join_main(main_ip, port, me):
    """Another node: connect to node 0 (it may not listen yet), say hello, read the reply."""
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        try:
            with socket.create_connection((main_ip, port), timeout=5) as conn:
                conn.sendall(f"node {me}".encode())
                return conn.recv(1024).decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class RendezvousFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.talk, num_parallel=2)

    @parallel
    @step
    def talk(self):
        p = current.parallel
        port = int(os.environ["MASTER_PORT"])
        assert port == p.main_port
        if p.node_index == 0:
            self.said = serve(p.main_ip, port, p.num_nodes - 1)
        else:
            self.said = join_main(p.main_ip, port, p.node_index)
        self.pid = os.getpid()
        self.next(self.join)

    @step
    def join(self, inputs):
        self.conversation = [inp.said for inp in inputs]
        self.pids = [inp.pid for inp in inputs]
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    RendezvousFlow()
