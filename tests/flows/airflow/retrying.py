"""Fails in ``train`` while AIRFLOW_TEST_BREAK is set; ``@retry`` retries it once (tests/airflow).

Each attempt leaves a file in AIRFLOW_TEST_ATTEMPTS (when set), named by the attempt number.
"""

import os
from pathlib import Path

from flowkit import FlowSpec, Parameter, current, retry, step


class RetryingFlow(FlowSpec):
    scale = Parameter("scale", default=3)

    @step
    def start(self):
        self.xs = [1, 2, 3]
        self.next(self.train, foreach="xs")

    @retry(times=1, minutes_between_retries=0)
    @step
    def train(self):
        folder = os.environ.get("AIRFLOW_TEST_ATTEMPTS")
        if folder:
            Path(folder, f"{current.task_id}.{current.retry_count}").touch()
        if os.environ.get("AIRFLOW_TEST_BREAK") and self.input == 2:
            raise RuntimeError("planned failure on 2")
        self.y = self.input * self.scale
        self.next(self.join)

    @step
    def join(self, inputs):
        self.ys = [i.y for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        self.result = sum(self.ys)


if __name__ == "__main__":
    RetryingFlow()
