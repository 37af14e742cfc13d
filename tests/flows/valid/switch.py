"""Valid: a switch whose branches converge on one (non-join) step."""

from flowkit import FlowSpec, step


class SwitchFlow(FlowSpec):
    @step
    def start(self):
        self.mode = "fast"
        self.next({"fast": self.fast, "slow": self.slow}, condition="mode")

    @step
    def fast(self):
        self.speed = 10
        self.next(self.report)

    @step
    def slow(self):
        self.speed = 1
        self.next(self.report)

    @step
    def report(self):
        self.next(self.end)

    @step
    def end(self):
        print("speed", self.speed)


if __name__ == "__main__":
    SwitchFlow()
