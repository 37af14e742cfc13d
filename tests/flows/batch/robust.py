"""@retry, @timeout and @catch on Batch steps.

BATCH_SLEEP=S        -> `slow` sleeps S seconds; its @timeout is 2 s (flowkit stops the job)
BATCH_LONG_SLEEP=S   -> `patient` sleeps S seconds; its @timeout is 90 s, which the job system
                        enforces (scaled down by the fake Batch through FAKE_BATCH_TIME_SCALE)
"""

import os
import time

from flowkit import FlowSpec, batch, catch, current, environment, retry, step, timeout


class RobustBatchFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.flaky)

    @batch
    @retry(times=1, minutes_between_retries=0)
    @step
    def flaky(self):
        print("attempt", current.retry_count)
        if current.retry_count == 0:
            raise RuntimeError("first attempt fails")
        self.attempt_seen = current.retry_count
        self.next(self.slow)

    @batch
    @catch(var="slow_error")
    @timeout(seconds=2)
    @environment(vars={"BATCH_SLEEP": os.environ.get("BATCH_SLEEP", "0")})
    @step
    def slow(self):
        print("sleeping", os.environ["BATCH_SLEEP"], flush=True)
        time.sleep(float(os.environ["BATCH_SLEEP"]))
        self.next(self.patient)

    @batch
    @catch(var="patient_error")
    @timeout(seconds=90)
    @environment(
        vars={
            "BATCH_LONG_SLEEP": os.environ.get("BATCH_LONG_SLEEP", "0"),
            "FAKE_BATCH_TIME_SCALE": "0.02",
        }
    )
    @step
    def patient(self):
        time.sleep(float(os.environ["BATCH_LONG_SLEEP"]))
        self.next(self.end)

    @step
    def end(self):
        self.summary = {
            "attempt_seen": self.attempt_seen,
            "slow_error": str(getattr(self, "slow_error", None)),
            "patient_error": str(getattr(self, "patient_error", None)),
        }
        print("summary", self.summary)


if __name__ == "__main__":
    RobustBatchFlow()
