"""A foreach fan-out with self.input / self.index and a join over all splits."""

from _probe import probe

from flowkit import FlowSpec, Parameter, step


class ForeachFlow(FlowSpec):
    width = Parameter("width", default=4, help="number of splits")

    @step
    def start(self):
        probe(self)
        self.items = [i * 10 for i in range(self.width)]
        self.next(self.work, foreach="items")

    @step
    def work(self):
        probe(self)
        self.pair = (self.index, self.input)
        self.next(self.join)

    @step
    def join(self, inputs):
        probe(self)
        self.pairs = [i.pair for i in inputs]
        self.merge_artifacts(inputs, include=["items"])
        self.next(self.end)

    @step
    def end(self):
        probe(self)
        self.result = {"pairs": self.pairs, "items": self.items}
        print("result", self.result)


if __name__ == "__main__":
    ForeachFlow()
