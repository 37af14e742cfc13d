"""Malformed: self.next is inside an if, so it is not the last statement of the step."""

from flowkit import FlowSpec, step


class NextInsideIfFlow(FlowSpec):
    @step
    def start(self):
        self.big = True
        if self.big:
            self.next(self.large)
        else:
            self.next(self.small)

    @step
    def large(self):
        self.next(self.end)

    @step
    def small(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    NextInsideIfFlow()
