"""Runtime error: foreach over an int. The graph is fine; the value is not a sequence."""

from flowkit import FlowSpec, step


class ForeachNotSequenceFlow(FlowSpec):
    @step
    def start(self):
        self.count = 3
        self.next(self.work, foreach="count")

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
    ForeachNotSequenceFlow()
