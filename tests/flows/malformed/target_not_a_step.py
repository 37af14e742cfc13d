"""Malformed: self.next names a plain method that lacks @step."""

from flowkit import FlowSpec, step


class TargetNotAStepFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    TargetNotAStepFlow()
