"""A self-loop of N passes (``--passes``), for ``bench_loops.py``."""

from flowkit import FlowSpec, Parameter, step


class LoopBench(FlowSpec):
    passes = Parameter("passes", default=100, type=int)

    @step
    def start(self):
        self.count = 0
        self.next(self.spin)

    @step
    def spin(self):
        self.count += 1
        self.state = "again" if self.count < self.passes else "done"
        self.next({"again": self.spin, "done": self.end}, condition="state")

    @step
    def end(self):
        print("passes", self.count)


if __name__ == "__main__":
    LoopBench()
