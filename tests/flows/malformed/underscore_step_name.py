"""Malformed: a step name starting with an underscore."""

from flowkit import FlowSpec, step


class UnderscoreStepNameFlow(FlowSpec):
    @step
    def start(self):
        self.next(self._prepare)

    @step
    def _prepare(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    UnderscoreStepNameFlow()
