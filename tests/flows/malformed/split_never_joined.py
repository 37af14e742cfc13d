"""Malformed: a foreach whose branches run to end without a join."""

from flowkit import FlowSpec, step


class SplitNeverJoinedFlow(FlowSpec):
    @step
    def start(self):
        self.items = [1, 2]
        self.next(self.work, foreach="items")

    @step
    def work(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    SplitNeverJoinedFlow()
