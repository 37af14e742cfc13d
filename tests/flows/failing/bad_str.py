"""A step raises an exception whose ``__str__`` itself raises."""

from flowkit import FlowSpec, step


class UnprintableError(Exception):
    def __str__(self):
        raise RuntimeError("no text for you")


class BadStrFlow(FlowSpec):
    @step
    def start(self):
        raise UnprintableError()
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    BadStrFlow()
