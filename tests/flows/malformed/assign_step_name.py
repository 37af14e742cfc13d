"""Malformed: a step stores an artifact under the name of a step, hiding that step."""

from flowkit import FlowSpec, step


class AssignStepNameFlow(FlowSpec):
    @step
    def start(self):
        self.train = [1, 2, 3]
        self.next(self.train)

    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    AssignStepNameFlow()
