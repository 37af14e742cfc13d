"""Malformed: the loop from b back to a can also be entered at b, straight from start."""

from flowkit import FlowSpec, step


class LoopTwoEntriesFlow(FlowSpec):
    @step
    def start(self):
        self.way = "a"
        self.next({"a": self.a, "b": self.b}, condition="way")

    @step
    def a(self):
        self.next(self.b)

    @step
    def b(self):
        self.state = "done"
        self.next({"again": self.a, "done": self.end}, condition="state")

    @step
    def end(self):
        pass


if __name__ == "__main__":
    LoopTwoEntriesFlow()
