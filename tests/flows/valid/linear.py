"""Valid: three steps in a line."""

from flowkit import FlowSpec, step


class LinearFlow(FlowSpec):
    @step
    def start(self):
        self.x = 1
        self.next(self.middle)

    @step
    def middle(self):
        self.x += 1
        self.next(self.end)

    @step
    def end(self):
        print("x", self.x)


if __name__ == "__main__":
    LinearFlow()
