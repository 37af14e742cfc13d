"""Malformed: a step other than end does not call self.next."""

from flowkit import FlowSpec, step


class MissingNextFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.work)

    @step
    def work(self):
        self.result = 42

    @step
    def end(self):
        pass


if __name__ == "__main__":
    MissingNextFlow()
