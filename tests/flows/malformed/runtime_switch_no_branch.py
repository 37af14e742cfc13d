"""Runtime error: the switch value matches none of its branches."""

from flowkit import FlowSpec, step


class SwitchNoBranchFlow(FlowSpec):
    @step
    def start(self):
        self.mode = "medium"
        self.next({"fast": self.fast, "slow": self.slow}, condition="mode")

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
    SwitchNoBranchFlow()
