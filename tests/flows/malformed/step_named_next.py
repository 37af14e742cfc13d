"""Malformed: a step named 'next' would hide self.next."""

from flowkit import FlowSpec, step


class StepNamedNextFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @step
    def next(self):
        pass

    @step
    def end(self):
        pass


if __name__ == "__main__":
    StepNamedNextFlow()
