"""Malformed: two parameters use the same option name."""

from flowkit import FlowSpec, Parameter, step


class ParamDuplicateFlow(FlowSpec):
    rate = Parameter("rate", default=0.1)
    learning_rate = Parameter("rate", default=0.01)

    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ParamDuplicateFlow()
