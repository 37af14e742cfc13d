"""Malformed: a plain method with the same name replaces a step."""

from flowkit import FlowSpec, step


class StepOverriddenByMethodFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @step
    def train(self):
        self.next(self.end)

    def train(self):  # noqa: F811
        return 1

    @step
    def end(self):
        pass


if __name__ == "__main__":
    StepOverriddenByMethodFlow()
