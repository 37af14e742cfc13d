"""Totals per region, as a flow deployed to AWS Step Functions (tutorial 09).

Nothing in it knows where it runs: `python report.py run` runs it here, `python report.py
step-functions create` deploys the same file, and every step then runs as an AWS Batch job.
"""

from flowkit import FlowSpec, Parameter, current, step


class RegionReportFlow(FlowSpec):
    days = Parameter("days", default=2, help="how many days to add up")

    @step
    def start(self):
        self.regions = ["north", "south", "west"]
        self.next(self.add_up, foreach="regions")

    @step
    def add_up(self):
        self.region = self.input
        self.total = sum(len(self.region) * day for day in range(1, self.days + 1))
        print(f"{self.region}: {self.total}")
        self.next(self.join)

    @step
    def join(self, inputs):
        self.totals = {i.region: i.total for i in inputs}
        self.next(self.end)

    @step
    def end(self):
        print("totals", self.totals, "in run", current.run_id)


if __name__ == "__main__":
    RegionReportFlow()
