"""Benchmark flow (flowkit): a foreach whose body runs on AWS Batch; start, join, end local."""

from flowkit import FlowSpec, Parameter, batch, step


class BatchForeachBench(FlowSpec):
    width = Parameter("width", default=500, help="number of foreach splits")

    @step
    def start(self):
        self.items = list(range(self.width))
        self.next(self.body, foreach="items")

    @batch
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
        print("total", self.total)


if __name__ == "__main__":
    BatchForeachBench()
