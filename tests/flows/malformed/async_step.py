"""Malformed: a step declared with async def."""

from flowkit import FlowSpec, step


class AsyncStepFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.fetch)

    @step
    async def fetch(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    AsyncStepFlow()
