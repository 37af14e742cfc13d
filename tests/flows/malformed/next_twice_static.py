"""Malformed: self.next appears twice in the body: once in an if, once at the end."""

from flowkit import FlowSpec, step


class NextTwiceStaticFlow(FlowSpec):
    @step
    def start(self):
        self.skip = False
        if self.skip:
            self.next(self.end)
        self.next(self.middle)

    @step
    def middle(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    NextTwiceStaticFlow()
