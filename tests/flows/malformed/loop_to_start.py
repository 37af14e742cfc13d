"""Malformed: the switch goes back to start, which runs once per run."""

from flowkit import FlowSpec, step


class LoopToStartFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.a)

    @step
    def a(self):
        self.state = "again"
        self.next({"again": self.start, "done": self.end}, condition="state")

    @step
    def end(self):
        pass


if __name__ == "__main__":
    LoopToStartFlow()
