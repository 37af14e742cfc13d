"""One step on AWS Batch between two local steps."""

import os
import socket

from flowkit import FlowSpec, batch, current, environment, resources, step


class OneBatchStepFlow(FlowSpec):
    @step
    def start(self):
        self.numbers = [1, 2, 3]
        self.host = socket.gethostname()
        self.next(self.train)

    @batch(cpu=2, gpu=0)
    @resources(cpu=8, memory=2048)
    @environment(vars={"GREETING": "hello from the job"})
    @step
    def train(self):
        print("training on", current.pathspec, "with", os.environ["GREETING"])
        print("task id in the job environment:", os.environ.get("FLOWKIT_TASK_ID"))
        self.total = sum(self.numbers)
        self.job_id = os.environ.get("AWS_BATCH_JOB_ID")
        # The job's own credentials (its role's, given by the job system), not the submitter's.
        self.job_key = os.environ.get("AWS_ACCESS_KEY_ID")
        self.next(self.end)

    @step
    def end(self):
        print("total", self.total, "computed by job", self.job_id)


if __name__ == "__main__":
    OneBatchStepFlow()
