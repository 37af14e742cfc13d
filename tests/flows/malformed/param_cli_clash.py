"""Malformed: a parameter named like an option of run (--max-workers)."""

from flowkit import FlowSpec, Parameter, step


class ParamCliClashFlow(FlowSpec):
    alpha = Parameter("alpha", default=1)
    workers = Parameter("max_workers", default=4)

    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ParamCliClashFlow()
