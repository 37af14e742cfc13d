"""A foreach over a str: one split per character, as Metaflow does."""

from flowkit import FlowSpec, step


class CharsFlow(FlowSpec):
    @step
    def start(self):
        self.word = "flowkit"
        self.next(self.letter, foreach="word")

    @step
    def letter(self):
        self.upper = self.input.upper()
        self.next(self.join)

    @step
    def join(self, inputs):
        self.spelled = "".join(i.upper for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    CharsFlow()
