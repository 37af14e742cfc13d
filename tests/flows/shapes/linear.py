"""Five steps in a line; artifacts flow forward and can be overwritten."""

from _probe import probe

from flowkit import FlowSpec, Parameter, step


class LinearFlow(FlowSpec):
    alpha = Parameter("alpha", default=2, help="multiplier")

    @step
    def start(self):
        probe(self)
        self.x = 1
        self.next(self.a)

    @step
    def a(self):
        probe(self)
        self.x += 1
        self.seen = [self.x]
        self.next(self.b)

    @step
    def b(self):
        probe(self)
        self.x *= self.alpha
        self.seen.append(self.x)
        self.next(self.c)

    @step
    def c(self):
        probe(self)
        self.label = f"x={self.x}"
        self.next(self.end)

    @step
    def end(self):
        probe(self)
        self.result = {"x": self.x, "seen": self.seen, "label": self.label, "alpha": self.alpha}
        print("result", self.result)


if __name__ == "__main__":
    LinearFlow()
