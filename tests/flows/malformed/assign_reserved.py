"""Malformed: a step assigns self.index, a name flowkit reserves."""

from flowkit import FlowSpec, step


class AssignReservedFlow(FlowSpec):
    @step
    def start(self):
        self.index = 3
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    AssignReservedFlow()
