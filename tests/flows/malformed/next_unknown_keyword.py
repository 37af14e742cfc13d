"""Malformed: self.next with an argument it does not know (for_each instead of foreach)."""

from flowkit import FlowSpec, step


class NextUnknownKeywordFlow(FlowSpec):
    @step
    def start(self):
        self.items = [1, 2]
        self.next(self.work, for_each="items")

    @step
    def work(self):
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    NextUnknownKeywordFlow()
