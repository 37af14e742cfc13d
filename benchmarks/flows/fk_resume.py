"""Benchmark flow for resume: a wide foreach whose join fails while BENCH_FAIL_JOIN=1."""

import os

from flowkit import FlowSpec, Parameter, step


class ResumeBenchFlow(FlowSpec):
    width = Parameter("width", default=1000)

    @step
    def start(self):
        self.items = list(range(self.width))
        self.next(self.work, foreach="items")

    @step
    def work(self):
        self.value = self.input * 2
        self.next(self.join)

    @step
    def join(self, inputs):
        if os.environ.get("BENCH_FAIL_JOIN") == "1":
            raise RuntimeError("planned failure")
        self.total = sum(i.value for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        print("total", self.total)


if __name__ == "__main__":
    ResumeBenchFlow()
