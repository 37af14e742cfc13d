"""Runtime error: an early return skips self.next."""

from flowkit import FlowSpec, step


class NextSkippedFlow(FlowSpec):
    @step
    def start(self):
        self.rows = []
        if not self.rows:
            return
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    NextSkippedFlow()
