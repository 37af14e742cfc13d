"""Malformed: end is defined twice."""

from flowkit import FlowSpec, step


class DuplicateEndFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass

    @step
    def end(self):  # noqa: F811
        print("done")


if __name__ == "__main__":
    DuplicateEndFlow()
