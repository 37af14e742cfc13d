"""Malformed: start is defined twice; the second silently replaces the first."""

from flowkit import FlowSpec, step


class DuplicateStartFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @step
    def start(self):  # noqa: F811
        self.x = 1
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    DuplicateStartFlow()
