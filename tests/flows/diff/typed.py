"""Artifacts of every type the run diff summarizes; ``--scale`` changes them all but ``same``."""

import numpy as np
import pandas as pd

from flowkit import FlowSpec, Parameter, step


class TypedFlow(FlowSpec):
    scale = Parameter("scale", default=1, help="multiplies every value")

    @step
    def start(self):
        self.same = "unchanged"
        self.score = 0.5 * self.scale
        self.count = 10 * self.scale
        self.matrix = np.arange(6, dtype=float).reshape(2, 3) * self.scale
        self.frame = pd.DataFrame({"a": [1, 2, 3], "b": [0.5, 1.5, 2.5]}) * self.scale
        self.series = pd.Series([1.0, 2.0, 4.0], name="s") * self.scale
        self.text = "x" * 500 + str(self.scale)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    TypedFlow()
