"""A flow deployed on a schedule, with typed parameters, @retry and @timeout (tests/airflow)."""

from flowkit import FlowSpec, Parameter, project, retry, schedule, step, timeout


@project(name="airflow_demo")
@schedule(cron="0 6 * * 1-5", timezone="Europe/Berlin")
class ScheduledFlow(FlowSpec):
    """Runs on weekday mornings in Berlin."""

    rows = Parameter("rows", default=3, help="how many rows")
    rate = Parameter("rate", default=0.5)
    label = Parameter("label", default="daily")
    dry = Parameter("dry", default=False)

    @retry(times=2, minutes_between_retries=0.5)
    @timeout(minutes=5)
    @step
    def start(self):
        self.total = self.rows * self.rate
        self.next(self.end)

    @step
    def end(self):
        self.summary = f"{self.label}: {self.total}"
        print(self.summary)


if __name__ == "__main__":
    ScheduledFlow()
