"""Benchmark flow (flowkit): start -> trivial foreach body -> join -> end (per-task cost)."""

from flowkit import FlowSpec, Parameter, step


class ForeachBench(FlowSpec):
    width = Parameter("width", default=500, help="number of foreach splits")

    @step
    def start(self):
        self.items = list(range(self.width))
        self.next(self.body, foreach="items")

    @step
    def body(self):
        self.y = self.input
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(i.y for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ForeachBench()
