"""Malformed: the step meant to join a foreach is declared without the inputs argument."""

from flowkit import FlowSpec, step


class ForeachJoinWithoutInputsFlow(FlowSpec):
    @step
    def start(self):
        self.items = [1, 2, 3]
        self.next(self.square, foreach="items")

    @step
    def square(self):
        self.value = self.input**2
        self.next(self.collect)

    @step
    def collect(self):
        self.total = self.value
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ForeachJoinWithoutInputsFlow()
