"""Valid: one branch of a static split holds a switch; both switch branches reach the join."""

from flowkit import FlowSpec, step


class SwitchInSplitFlow(FlowSpec):
    @step
    def start(self):
        self.mode = "up"
        self.next(self.left, self.right)

    @step
    def left(self):
        self.next({"up": self.up, "down": self.down}, condition="mode")

    @step
    def up(self):
        self.v = "up"
        self.next(self.join)

    @step
    def down(self):
        self.v = "down"
        self.next(self.join)

    @step
    def right(self):
        self.v = "right"
        self.next(self.join)

    @step
    def join(self, inputs):
        self.vs = sorted(i.v for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        print("vs", self.vs)


if __name__ == "__main__":
    SwitchInSplitFlow()
