"""Episode 08: the flow of the notebook (loop.ipynb), moved to a file once its steps settled.

Fits ``y = slope * x + intercept`` to a few points, with a ridge penalty ``alpha`` on the
slope. This is the version after the notebook's edit of ``fit`` (the intercept).
"""

from flowkit import FlowSpec, Parameter, step


class FitFlow(FlowSpec):
    """Fit a line to five points and measure how far it is from them."""

    alpha = Parameter("alpha", default=0.0, help="ridge penalty on the slope")

    @step
    def start(self):
        self.xs = [1.0, 2.0, 3.0, 4.0, 5.0]
        self.ys = [3.1, 4.9, 7.2, 8.8, 11.1]
        self.next(self.fit)

    @step
    def fit(self):
        n = len(self.xs)
        mx, my = sum(self.xs) / n, sum(self.ys) / n
        sxy = sum((x - mx) * (y - my) for x, y in zip(self.xs, self.ys, strict=True))
        sxx = sum((x - mx) ** 2 for x in self.xs)
        self.slope = round(sxy / (sxx + self.alpha), 3)
        self.intercept = round(my - self.slope * mx, 3)
        print(f"fit: slope {self.slope}, intercept {self.intercept} (alpha {self.alpha})")
        self.next(self.evaluate)

    @step
    def evaluate(self):
        fitted = [self.slope * x + self.intercept for x in self.xs]
        self.errors = [round(y - f, 3) for y, f in zip(self.ys, fitted, strict=True)]
        self.mse = round(sum(e * e for e in self.errors) / len(self.errors), 4)
        self.next(self.end)

    @step
    def end(self):
        print(f"slope {self.slope}, intercept {self.intercept}, mse {self.mse}")


if __name__ == "__main__":
    FitFlow()
