"""Malformed: a join that loops back to itself would run again without its branches."""

from flowkit import FlowSpec, step


class LoopJoinFlow(FlowSpec):
    @step
    def start(self):
        self.items = [1, 2]
        self.next(self.work, foreach="items")

    @step
    def work(self):
        self.next(self.join)

    @step
    def join(self, inputs):
        self.state = "again"
        self.next({"again": self.join, "done": self.end}, condition="state")

    @step
    def end(self):
        pass


if __name__ == "__main__":
    LoopJoinFlow()
