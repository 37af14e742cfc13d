"""Malformed: condition= given with plain steps instead of a dict of branches."""

from flowkit import FlowSpec, step


class ConditionWithoutDictFlow(FlowSpec):
    @step
    def start(self):
        self.mode = "fast"
        self.next(self.fast, self.slow, condition="mode")

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
    ConditionWithoutDictFlow()
