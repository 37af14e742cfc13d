"""Malformed: foreach= is given the list itself instead of the artifact's name."""

from flowkit import FlowSpec, step


class ForeachNotLiteralFlow(FlowSpec):
    @step
    def start(self):
        self.items = [1, 2]
        self.next(self.work, foreach=self.items)

    @step
    def work(self):
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ForeachNotLiteralFlow()
