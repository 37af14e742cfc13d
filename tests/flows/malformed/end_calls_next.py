"""Malformed: the end step calls self.next."""

from flowkit import FlowSpec, step


class EndCallsNextFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        self.next(self.start)


if __name__ == "__main__":
    EndCallsNextFlow()
