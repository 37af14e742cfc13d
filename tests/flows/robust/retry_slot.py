"""Split 0 fails on its first attempt; its retry waits 1.2 s, during which split 1 must run."""

import time

from flowkit import FlowSpec, current, retry, step


class RetrySlotFlow(FlowSpec):
    @step
    def start(self):
        self.items = [0, 1]
        self.next(self.work, foreach="items")

    @retry(times=1, minutes_between_retries=0.02)
    @step
    def work(self):
        self.started = time.time()
        if self.input == 0 and current.retry_count == 0:
            raise RuntimeError("first attempt of split 0 fails")
        self.next(self.join)

    @step
    def join(self, inputs):
        self.starts = {i.input: i.started for i in inputs}
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    RetrySlotFlow()
