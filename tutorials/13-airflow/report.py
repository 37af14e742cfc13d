"""Episode 13: a flow Airflow starts when EtlFlow's DAG run succeeds (an Airflow Asset)."""

from flowkit import Flow, FlowSpec, step, trigger_on_finish


@trigger_on_finish(flow="EtlFlow")
class ReportFlow(FlowSpec):
    """Report on the latest EtlFlow run."""

    @step
    def start(self):
        etl = Flow("EtlFlow").latest_successful_run
        self.source = etl.pathspec
        self.total = etl.data.total
        self.next(self.end)

    @step
    def end(self):
        print(f"report: {self.source} made total {self.total}")


if __name__ == "__main__":
    ReportFlow()
