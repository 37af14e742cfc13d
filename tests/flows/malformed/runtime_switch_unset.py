"""Runtime error: the switch's condition artifact was never set."""

from flowkit import FlowSpec, step


class SwitchUnsetFlow(FlowSpec):
    @step
    def start(self):
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
    SwitchUnsetFlow()
