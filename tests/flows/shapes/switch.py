"""A conditional switch: one branch runs, chosen by an artifact's value."""

from _probe import probe

from flowkit import FlowSpec, Parameter, step


class SwitchFlow(FlowSpec):
    mode = Parameter("mode", default="fast", help="fast or careful")

    @step
    def start(self):
        probe(self)
        self.choice = self.mode
        self.next({"fast": self.fast, "careful": self.careful}, condition="choice")

    @step
    def fast(self):
        probe(self)
        self.path = "fast"
        self.next(self.end)

    @step
    def careful(self):
        probe(self)
        self.path = "careful"
        self.next(self.end)

    @step
    def end(self):
        probe(self)
        self.result = {"path": self.path}
        print("result", self.result)


if __name__ == "__main__":
    SwitchFlow()
