"""Malformed: a step named 'input', a name flowkit reserves."""

from flowkit import FlowSpec, step


class ReservedStepNameFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.input)

    @step
    def input(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ReservedStepNameFlow()
