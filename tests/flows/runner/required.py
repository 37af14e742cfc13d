"""A flow with a required parameter, for the Runner's checks."""

from flowkit import FlowSpec, Parameter, step


class RequiredFlow(FlowSpec):
    seed = Parameter("seed", required=True, type=int)

    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        self.seed_seen = self.seed


if __name__ == "__main__":
    RequiredFlow()
