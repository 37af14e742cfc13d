"""Malformed: a switch inside a foreach goes back to a step before the foreach."""

from flowkit import FlowSpec, step


class LoopOutOfForeachFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.prepare)

    @step
    def prepare(self):
        self.items = [1, 2]
        self.next(self.work, foreach="items")

    @step
    def work(self):
        self.state = "again"
        self.next({"again": self.prepare, "done": self.join}, condition="state")

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    LoopOutOfForeachFlow()
