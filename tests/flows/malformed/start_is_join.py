"""Malformed: start is declared as a join."""

from flowkit import FlowSpec, step


class StartIsJoinFlow(FlowSpec):
    @step
    def start(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    StartIsJoinFlow()
