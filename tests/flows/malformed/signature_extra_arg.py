"""Malformed: a step takes more arguments than flowkit can pass."""

from flowkit import FlowSpec, step


class SignatureExtraArgFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @step
    def train(self, data, epochs):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    SignatureExtraArgFlow()
