"""A Batch array job whose tasks get a secret through ``--with environment:vars=...``."""

import os

from flowkit import FlowSpec, batch, step


class BatchSecretFlow(FlowSpec):
    @step
    def start(self):
        self.items = [1, 2, 3]
        self.next(self.work, foreach="items")

    @batch
    @step
    def work(self):
        self.seen = os.environ.get("BATCH_TOKEN", "") != ""
        self.next(self.join)

    @step
    def join(self, inputs):
        self.seen = [i.seen for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    BatchSecretFlow()
