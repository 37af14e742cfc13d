"""A loop that never takes its exit branch: the run's loop limit must stop it."""

from flowkit import FlowSpec, step


class EndlessLoopFlow(FlowSpec):
    @step
    def start(self):
        self.count = 0
        self.next(self.spin)

    @step
    def spin(self):
        self.count += 1
        self.state = "again"
        self.next({"again": self.spin, "done": self.end}, condition="state")

    @step
    def end(self):
        pass


if __name__ == "__main__":
    EndlessLoopFlow()
