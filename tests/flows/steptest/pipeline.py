"""Every shape a step test meets: parameters, a static split and its join, a foreach and its
join, a switch, a failing step and an artifact that cannot be stored."""

import threading

from flowkit import FlowSpec, Parameter, current, step


class TrainFlow(FlowSpec):
    alpha = Parameter("alpha", default=2, help="a multiplier")
    mode = Parameter("mode", default="fast", help="fast or careful")

    @step
    def start(self):
        print("starting with alpha", self.alpha)
        self.base = 10 * self.alpha
        self.next(self.left, self.right)

    @step
    def left(self):
        self.x = self.base + 1
        self.next(self.join)

    @step
    def right(self):
        self.x = self.base + 2
        self.next(self.join)

    @step
    def join(self, inputs):
        self.xs = sorted(i.x for i in inputs)
        self.from_left = inputs.left.x
        self.merge_artifacts(inputs, exclude=["x"])
        self.next(self.fan_out)

    @step
    def fan_out(self):
        self.items = [x * 3 for x in self.xs]
        self.next(self.work, foreach="items")

    @step
    def work(self):
        if self.input < 0:
            raise ValueError(f"negative item {self.input}")
        self.pair = (self.index, self.input, current.step_name)
        self.next(self.gather)

    @step
    def gather(self, inputs):
        self.pairs = [i.pair for i in inputs]
        self.next(self.decide)

    @step
    def decide(self):
        self.choice = self.mode
        self.next({"fast": self.fast, "careful": self.careful}, condition="choice")

    @step
    def fast(self):
        self.lock = threading.Lock() if self.pairs == ["unpicklable"] else None
        self.path = "fast"
        self.next(self.end)

    @step
    def careful(self):
        self.path = "careful"
        self.next(self.end)

    @step
    def end(self):
        self.result = {"path": self.path, "pairs": self.pairs}


if __name__ == "__main__":
    TrainFlow()
