"""Malformed: self.next is given a string instead of a step."""

from flowkit import FlowSpec, step


class NextNotAStepFlow(FlowSpec):
    @step
    def start(self):
        self.next("end")

    @step
    def end(self):
        pass


if __name__ == "__main__":
    NextNotAStepFlow()
