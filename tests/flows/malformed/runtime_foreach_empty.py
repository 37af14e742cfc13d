"""Runtime error: foreach over an empty list would run no task."""

from flowkit import FlowSpec, step


class ForeachEmptyFlow(FlowSpec):
    @step
    def start(self):
        self.items = []
        self.next(self.work, foreach="items")

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
    ForeachEmptyFlow()
