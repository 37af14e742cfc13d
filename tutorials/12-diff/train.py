"""Episode 12: train a small ridge model; compare runs with `flowkit diff`, re-run one with
`flowkit reproduce`.

    python tutorials/12-diff/train.py run
    python tutorials/12-diff/train.py run --alpha 10
    flowkit diff ChurnFlow/1 2
"""

import numpy as np
import pandas as pd

from flowkit import FlowSpec, Parameter, step


class ChurnFlow(FlowSpec):
    alpha = Parameter("alpha", default=1.0, help="ridge penalty")
    jitter = Parameter("jitter", default=False, help="add unseeded noise (not reproducible)")

    @step
    def start(self):
        """A fixed, seeded data set: 200 customers, two features and a churn score."""
        rng = np.random.default_rng(0)
        frame = pd.DataFrame({"tenure": rng.uniform(0, 60, 200), "calls": rng.poisson(3, 200)})
        frame["churn"] = 0.8 - 0.01 * frame["tenure"] + 0.05 * frame["calls"]
        frame["churn"] += rng.normal(0, 0.05, 200)
        self.data = frame
        self.next(self.train)

    @step
    def train(self):
        """Ridge regression in closed form; --jitter true adds noise nobody can re-create."""
        x = self.data[["tenure", "calls"]].to_numpy()
        x = np.column_stack([np.ones(len(x)), x])
        y = self.data["churn"].to_numpy()
        self.weights = np.linalg.solve(x.T @ x + self.alpha * np.eye(3), x.T @ y)
        if self.jitter:
            self.weights = self.weights + np.random.default_rng().normal(0, 1e-3, 3)
        self.next(self.evaluate)

    @step
    def evaluate(self):
        """How well the weights explain the churn score (R squared)."""
        x = self.data[["tenure", "calls"]].to_numpy()
        predicted = self.weights[0] + x @ self.weights[1:]
        residual = self.data["churn"].to_numpy() - predicted
        self.score = round(float(1 - residual.var() / self.data["churn"].var(ddof=0)), 4)
        self.predictions = pd.DataFrame({"predicted": predicted})
        self.next(self.end)

    @step
    def end(self):
        print(f"alpha {self.alpha}: R squared {self.score}")


if __name__ == "__main__":
    ChurnFlow()
