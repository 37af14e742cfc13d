"""Episode 13: a flow deployed to Apache Airflow, on a schedule.

python etl.py airflow create     # writes $AIRFLOW_HOME/dags/EtlFlow.py
python etl.py airflow trigger --rows 5
"""

from flowkit import FlowSpec, Parameter, retry, schedule, step


@schedule(cron="30 5 * * *", timezone="Europe/Paris")
class EtlFlow(FlowSpec):
    """Load rows every morning, clean them in parallel, store the total."""

    rows = Parameter("rows", default=3, help="how many rows to load")

    @step
    def start(self):
        self.batch = list(range(1, self.rows + 1))
        self.next(self.clean, foreach="batch")

    @retry(times=2, minutes_between_retries=0)
    @step
    def clean(self):
        self.value = self.input * 10
        self.next(self.join)

    @step
    def join(self, inputs):
        self.values = [i.value for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        self.total = sum(self.values)
        print("total", self.total)


if __name__ == "__main__":
    EtlFlow()
