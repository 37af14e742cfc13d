"""Episode 02: fan out over groups with foreach, compute per-group statistics, join them.

python tutorials/02-foreach/groups.py run
"""

import numpy as np
import pandas as pd

from flowkit import FlowSpec, Parameter, step


class GroupStatsFlow(FlowSpec):
    """Generate a sales table, then compute statistics for each region in parallel."""

    rows = Parameter("rows", default=10_000, help="rows of generated data")
    seed = Parameter("seed", default=7, help="random seed: same seed, same data, same results")

    @step
    def start(self):
        """Generate the data (small and reproducible: no download)."""
        rng = np.random.default_rng(self.seed)
        self.sales = pd.DataFrame(
            {
                "region": rng.choice(["north", "south", "east", "west"], size=self.rows),
                "amount": rng.gamma(2.0, 50.0, size=self.rows).round(2),
            }
        )
        self.regions = sorted(self.sales.region.unique())
        self.next(self.stats, foreach="regions")

    @step
    def stats(self):
        """One task per region: self.input is the region, self.index its position."""
        part = self.sales[self.sales.region == self.input]
        self.row = {
            "region": self.input,
            "orders": len(part),
            "total": round(float(part.amount.sum()), 2),
            "mean": round(float(part.amount.mean()), 2),
            "p90": round(float(part.amount.quantile(0.9)), 2),
        }
        print(f"split {self.index}: {self.row}")
        self.next(self.join)

    @step
    def join(self, inputs):
        """Gather one row per region into a table."""
        self.table = pd.DataFrame([i.row for i in inputs]).set_index("region")
        self.merge_artifacts(inputs, include=["sales"])
        self.next(self.end)

    @step
    def end(self):
        """Check the parts add up to the whole."""
        assert self.table.orders.sum() == len(self.sales)
        print(self.table.to_string())


if __name__ == "__main__":
    GroupStatsFlow()
