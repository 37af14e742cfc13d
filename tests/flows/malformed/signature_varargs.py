"""Malformed: a step declared with *args."""

from flowkit import FlowSpec, step


class SignatureVarargsFlow(FlowSpec):
    @step
    def start(self, *args):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    SignatureVarargsFlow()
