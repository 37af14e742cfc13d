"""A @parallel gang: num_parallel nodes started together, each knowing its place, and a join
over all of them in node order."""

from _probe import probe

from flowkit import FlowSpec, Parameter, current, parallel, step


class ParallelFlow(FlowSpec):
    nodes = Parameter("nodes", default=3, help="size of the gang")

    @step
    def start(self):
        probe(self)
        self.next(self.train, num_parallel=self.nodes)

    @parallel
    @step
    def train(self):
        probe(self)
        self.node = (current.parallel.node_index, current.parallel.num_nodes, self.input)
        self.next(self.join)

    @step
    def join(self, inputs):
        probe(self)
        self.nodes_seen = [i.node for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        probe(self)
        self.result = {"nodes": self.nodes_seen}
        print("result", self.result)


if __name__ == "__main__":
    ParallelFlow()
