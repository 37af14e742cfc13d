"""Malformed: self.next names a step that does not exist (a typo of 'train')."""

from flowkit import FlowSpec, step


class UnknownTargetFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.trian)

    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    UnknownTargetFlow()
