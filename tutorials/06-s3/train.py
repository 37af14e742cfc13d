"""Episode 06: one teammate trains on a shared S3 datastore...

FLOWKIT_DATASTORE_ROOT=s3://team-bucket/flowkit python tutorials/06-s3/train.py run
"""

import random

from flowkit import FlowSpec, Parameter, current, step


class SharedTrainFlow(FlowSpec):
    """Fit a tiny model and leave it on the team's datastore."""

    seed = Parameter("seed", default=42, help="random seed")

    @step
    def start(self):
        """Make noisy points on y = 2x + 1."""
        rng = random.Random(self.seed)
        self.points = [(x, 2 * x + 1 + rng.uniform(-0.1, 0.1)) for x in range(50)]
        self.next(self.fit)

    @step
    def fit(self):
        """Least squares by hand."""
        n = len(self.points)
        mx = sum(x for x, _ in self.points) / n
        my = sum(y for _, y in self.points) / n
        sxy = sum((x - mx) * (y - my) for x, y in self.points)
        sxx = sum((x - mx) ** 2 for x, _ in self.points)
        slope = sxy / sxx
        self.model = {"slope": round(slope, 2), "intercept": round(my - slope * mx, 1)}
        self.next(self.end)

    @step
    def end(self):
        """Say where the result lives."""
        print(f"model {self.model} stored in {current.datastore_root} as {current.pathspec}")


if __name__ == "__main__":
    SharedTrainFlow()
