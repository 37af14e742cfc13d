"""Tutorial 07: prepare data locally, score many models on AWS Batch, pick the best locally.

Only `score` carries @batch; `python scale.py run --with batch` would send every step.
"""

import os

from flowkit import FlowSpec, Parameter, batch, current, resources, step


class ScaleOutFlow(FlowSpec):
    """Fit a line y = a*x + b for several slopes `a`, one Batch job per candidate."""

    candidates = Parameter("candidates", default=8, type=int, help="how many slopes to try")

    @step
    def start(self):
        # Runs on this machine: the data goes to the S3 datastore once, as an artifact.
        self.points = [(x, 3 * x + 1) for x in range(100)]
        self.slopes = [1 + i * 0.5 for i in range(self.candidates)]
        self.next(self.score, foreach="slopes")

    @batch(cpu=1, memory=1024)
    @resources(cpu=1, memory=1024)
    @step
    def score(self):
        # Runs as one child of an AWS Batch array job; reads self.points from S3.
        a = self.input
        b = sum(y - a * x for x, y in self.points) / len(self.points)
        self.error = sum((y - a * x - b) ** 2 for x, y in self.points)
        self.slope, self.intercept = a, b
        where = os.environ.get("AWS_BATCH_JOB_ID", "this machine")
        print(f"{current.pathspec}: a={a:g} b={b:.2f} error={self.error:.1f} (job {where})")
        self.next(self.pick)

    @step
    def pick(self, inputs):
        best = min(inputs, key=lambda i: i.error)
        self.best = {"slope": best.slope, "intercept": round(best.intercept, 2)}
        self.next(self.end)

    @step
    def end(self):
        print("best fit:", self.best)


if __name__ == "__main__":
    ScaleOutFlow()
