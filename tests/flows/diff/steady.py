"""A deterministic flow with a foreach, a plain parameter and an IncludeFile."""

from flowkit import FlowSpec, IncludeFile, Parameter, step


class SteadyFlow(FlowSpec):
    factor = Parameter("factor", default=2, help="multiplier")
    words = IncludeFile("words", help="a text file of words, one a line")

    @step
    def start(self):
        self.items = (self.words or "a\nb").split()
        self.next(self.scale, foreach="items")

    @step
    def scale(self):
        self.scaled = self.input * self.factor
        self.next(self.join)

    @step
    def join(self, inputs):
        self.model = sorted(i.scaled for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        self.summary = {"model": self.model, "factor": self.factor}


if __name__ == "__main__":
    SteadyFlow()
