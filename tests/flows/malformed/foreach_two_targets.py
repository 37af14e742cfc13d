"""Malformed: foreach fans out to two steps."""

from flowkit import FlowSpec, step


class ForeachTwoTargetsFlow(FlowSpec):
    @step
    def start(self):
        self.items = [1, 2]
        self.next(self.a, self.b, foreach="items")

    @step
    def a(self):
        self.next(self.join)

    @step
    def b(self):
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ForeachTwoTargetsFlow()
