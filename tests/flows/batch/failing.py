"""A Batch step that fails until BATCH_FIX=1; BATCH_CRASH=1 makes its job die without a manifest.

The variables reach the job through @environment, the way settings reach a remote task.
"""

import os

from flowkit import FlowSpec, batch, environment, step


class FailingBatchFlow(FlowSpec):
    @step
    def start(self):
        self.items = ["a", "b", "c"]
        self.next(self.work, foreach="items")

    @batch
    @environment(
        vars={
            "BATCH_FIX": os.environ.get("BATCH_FIX", "0"),
            "BATCH_CRASH": os.environ.get("BATCH_CRASH", "0"),
        }
    )
    @step
    def work(self):
        if self.input == "b" and os.environ["BATCH_CRASH"] == "1":
            print("about to vanish", flush=True)
            os._exit(3)
        if self.input == "b" and os.environ["BATCH_FIX"] != "1":
            raise ValueError("split b is broken")
        self.out = self.input.upper()
        self.next(self.join)

    @step
    def join(self, inputs):
        self.outs = [i.out for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        print("outs", self.outs)


if __name__ == "__main__":
    FailingBatchFlow()
