"""Episode 05: make a flow robust with @retry, @catch, @timeout, @resources and @environment.

python tutorials/05-robust/robust.py run
"""

import os
import random
import time

from flowkit import FlowSpec, catch, current, environment, resources, retry, step, timeout


class RobustTutorialFlow(FlowSpec):
    """Fetch flaky data, train with a time limit, and keep going when scoring breaks."""

    @retry(times=3, minutes_between_retries=0)
    @step
    def start(self):
        """A flaky download: fails the first two attempts (retry_count 0 and 1)."""
        if current.retry_count < 2:
            raise ConnectionError(f"server busy (attempt {current.retry_count})")
        self.rows = list(range(100))
        print(f"downloaded {len(self.rows)} rows on attempt {current.retry_count}")
        self.next(self.train)

    @resources(cpu=1, memory=512)
    @environment(vars={"OMP_NUM_THREADS": "1"})
    @catch(var="train_error")
    @timeout(seconds=2)
    @step
    def train(self):
        """Training that sometimes hangs: the timeout kills it, the catch lets the flow go on."""
        print("threads:", os.environ["OMP_NUM_THREADS"])
        if os.environ.get("HANG") == "1":
            time.sleep(60)
        random.seed(0)
        self.model = sum(self.rows) / len(self.rows)
        self.next(self.end)

    @step
    def end(self):
        """Report what happened."""
        if getattr(self, "train_error", None):
            print(f"training failed: {self.train_error}; using a fallback")
        else:
            print(f"model: {self.model}")


if __name__ == "__main__":
    RobustTutorialFlow()
