"""Runtime error: self.next is called in a helper method and again as the last statement."""

from flowkit import FlowSpec, step


class NextTwiceFlow(FlowSpec):
    @step
    def start(self):
        self.prepare()
        self.next(self.end)

    def prepare(self):
        self.ready = True
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    NextTwiceFlow()
