"""Malformed: a step assigns a parameter, which is read-only."""

from flowkit import FlowSpec, Parameter, step


class AssignParameterFlow(FlowSpec):
    alpha = Parameter("alpha", default=1)

    @step
    def start(self):
        self.alpha = self.alpha * 2
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    AssignParameterFlow()
