"""A foreach over a set of strings whose splits are one Batch array job."""

from flowkit import FlowSpec, step
from flowkit_batch import batch


class BatchSetFlow(FlowSpec):
    @step
    def start(self):
        self.items = {f"item{i}" for i in range(12)}
        self.order = list(self.items)  # this interpreter's order: what the splits must follow
        self.next(self.work, foreach="items")

    @batch
    @step
    def work(self):
        self.got = (self.index, self.input)
        self.next(self.join)

    @step
    def join(self, inputs):
        self.got = [i.got for i in inputs]
        self.order = inputs[0].order
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    BatchSetFlow()
