"""Tests rewrite this flow between run and resume to change its graph."""

from flowkit import FlowSpec, step


class ChangingFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.a)

    @step
    def a(self):
        self.next(self.b)

    @step
    def b(self):
        self.next(self.c)

    @step
    def c(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ChangingFlow()
