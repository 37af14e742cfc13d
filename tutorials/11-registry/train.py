"""Episode 11: train a model and register it, from inside the step that made it."""

from flowkit import FlowSpec, Parameter, current, step


class ChurnTrainFlow(FlowSpec):
    """Fits y = slope * x to a few points; ``noise`` makes a worse model on purpose."""

    noise = Parameter("noise", default=0.0, help="Added to the slope: a deliberately bad fit.")

    @step
    def start(self):
        self.points = [(1.0, 2.0), (2.0, 4.0), (3.0, 6.0)]
        self.next(self.train)

    @step
    def train(self):
        slope = sum(x * y for x, y in self.points) / sum(x * x for x, _ in self.points)
        self.model = {"slope": slope + self.noise}
        error = sum((y - self.model["slope"] * x) ** 2 for x, y in self.points)
        version = current.registry.register(
            "churn", self.model, metrics={"sq_error": error}, tags={"noise": str(self.noise)}
        )
        print(f"registered {version.ref} (sq_error={error:g})")
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ChurnTrainFlow()
