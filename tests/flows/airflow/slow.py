"""``nap`` sleeps far past its ``@timeout`` when AIRFLOW_TEST_SLEEP is set (tests/airflow)."""

import os
import time

from flowkit import FlowSpec, step, timeout


class SlowFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.nap)

    @timeout(seconds=4)
    @step
    def nap(self):
        time.sleep(float(os.environ.get("AIRFLOW_TEST_SLEEP", "0")))
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    SlowFlow()
