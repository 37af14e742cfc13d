"""Malformed: the switch goes forward, and the plain step after it goes back: only a switch
branch may close a loop."""

from flowkit import FlowSpec, step


class LoopClosedByLinearFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.a)

    @step
    def a(self):
        self.state = "again"
        self.next({"again": self.b, "done": self.end}, condition="state")

    @step
    def b(self):
        self.next(self.a)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    LoopClosedByLinearFlow()
