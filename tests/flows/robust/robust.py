"""Decorators alone and combined; behaviour is steered by environment variables from the tests.

ROBUST_FAIL_TIMES=N  -> `flaky` fails its first N attempts
ROBUST_SLEEP=S       -> `slow` sleeps S seconds (its @timeout is 1 s)
ROBUST_ALWAYS=1      -> `doomed` always fails (caught by @catch)
"""

import os
import time

from flowkit import FlowSpec, catch, current, environment, resources, retry, step, timeout


class RobustFlow(FlowSpec):
    @step
    def start(self):
        self.base = 1
        self.next(self.flaky)

    @retry(times=3, minutes_between_retries=0)
    @step
    def flaky(self):
        self.attempt_seen = current.retry_count
        print("attempt", current.retry_count)
        if current.retry_count < int(os.environ.get("ROBUST_FAIL_TIMES", "0")):
            raise RuntimeError(f"flaky failure on attempt {current.retry_count}")
        self.next(self.slow)

    @catch(var="slow_error")
    @retry(times=1, minutes_between_retries=0)
    @timeout(seconds=1)
    @step
    def slow(self):
        time.sleep(float(os.environ.get("ROBUST_SLEEP", "0")))
        self.slow_done = True
        self.next(self.doomed)

    @catch(var="doom")
    @step
    def doomed(self):
        if os.environ.get("ROBUST_ALWAYS") == "1":
            raise ValueError("doomed step failed")
        self.next(self.configured)

    @resources(cpu=1, memory=100, gpu=0)
    @environment(vars={"ROBUST_GREETING": "hi", "OMP_NUM_THREADS": "1"})
    @step
    def configured(self):
        self.greeting = os.environ.get("ROBUST_GREETING")
        self.next(self.end)

    @step
    def end(self):
        self.summary = {
            "attempt_seen": self.attempt_seen,
            "slow_error": str(getattr(self, "slow_error", None)),
            "doom": str(getattr(self, "doom", None)),
            "greeting": self.greeting,
            "base": self.base,
        }
        print("summary", self.summary)


if __name__ == "__main__":
    RobustFlow()
