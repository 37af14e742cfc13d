"""A flow started when UpstreamFlow (and on a schedule) finishes (tests/airflow)."""

from flowkit import FlowSpec, schedule, step, trigger_on_finish


@trigger_on_finish(flow="UpstreamFlow")
@schedule(daily=True)
class DownstreamFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    DownstreamFlow()
