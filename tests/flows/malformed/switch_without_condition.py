"""Malformed: a dict of branches without condition=."""

from flowkit import FlowSpec, step


class SwitchWithoutConditionFlow(FlowSpec):
    @step
    def start(self):
        self.mode = "fast"
        self.next({"fast": self.fast, "slow": self.slow})

    @step
    def fast(self):
        self.next(self.end)

    @step
    def slow(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    SwitchWithoutConditionFlow()
