"""Runtime error: setattr smuggles a reserved artifact name past the static check."""

from flowkit import FlowSpec, step


class ReservedSetattrFlow(FlowSpec):
    @step
    def start(self):
        setattr(self, "input", 5)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ReservedSetattrFlow()
