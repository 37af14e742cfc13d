"""A static split whose one branch fans out over a foreach: run with --with batch."""

import os

from flowkit import FlowSpec, Parameter, current, step


class FanoutFlow(FlowSpec):
    width = Parameter("width", default=6, type=int, help="number of foreach splits")

    @step
    def start(self):
        self.items = list(range(self.width))
        self.next(self.squares, self.label)

    @step
    def squares(self):
        self.next(self.square, foreach="items")

    @step
    def square(self):
        self.value = self.input * self.input
        print(f"split {self.index}: {self.input}^2 = {self.value}")
        self.array_index = os.environ.get("AWS_BATCH_JOB_ARRAY_INDEX")
        self.next(self.collect)

    @step
    def collect(self, inputs):
        self.values = [i.value for i in inputs]
        self.array_indexes = sorted({i.array_index for i in inputs}, key=str)
        self.next(self.join)

    @step
    def label(self):
        self.text = f"{self.width} squares"
        self.next(self.join)

    @step
    def join(self, inputs):
        self.values = inputs.collect.values
        self.array_indexes = inputs.collect.array_indexes
        self.text = inputs.label.text
        self.next(self.end)

    @step
    def end(self):
        self.result = {"values": self.values, "text": self.text, "where": current.pathspec}
        print("result", self.result)


if __name__ == "__main__":
    FanoutFlow()
