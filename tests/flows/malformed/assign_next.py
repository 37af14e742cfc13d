"""Malformed: a step assigns self.next."""

from flowkit import FlowSpec, step


class AssignNextFlow(FlowSpec):
    @step
    def start(self):
        self.next = "end"
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    AssignNextFlow()
