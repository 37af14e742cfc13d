"""Malformed: a parameter declaration misspells a keyword (``defualt``)."""

from flowkit import FlowSpec, Parameter, step


class ParamUnknownKeywordFlow(FlowSpec):
    alpha = Parameter("alpha", defualt=3)

    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ParamUnknownKeywordFlow()
