"""Malformed: the flow has no end step."""

from flowkit import FlowSpec, step


class NoEndFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.finish)

    @step
    def finish(self):
        pass


if __name__ == "__main__":
    NoEndFlow()
