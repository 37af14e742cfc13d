"""Benchmark flow (flowkit): five trivial steps in a line, to time a whole run's fixed cost."""

from flowkit import FlowSpec, step


class LinearBench(FlowSpec):
    @step
    def start(self):
        self.x = 0
        self.next(self.a)

    @step
    def a(self):
        self.x += 1
        self.next(self.b)

    @step
    def b(self):
        self.x += 1
        self.next(self.c)

    @step
    def c(self):
        self.x += 1
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    LinearBench()
