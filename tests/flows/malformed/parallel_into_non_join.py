"""Malformed: two parallel branches lead to a step that is not a join."""

from flowkit import FlowSpec, step


class ParallelIntoNonJoinFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.a, self.b)

    @step
    def a(self):
        self.next(self.collect)

    @step
    def b(self):
        self.next(self.collect)

    @step
    def collect(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ParallelIntoNonJoinFlow()
