"""Trains a tiny model and registers it, and its training data, from inside the steps."""

from flowkit import FlowSpec, Parameter, current, step


class RegTrainFlow(FlowSpec):
    alpha = Parameter("alpha", default=0.5)

    @step
    def start(self):
        self.data = [1.0, 2.0, 3.0, 4.0]
        current.registry.register("orders", self.data, kind="dataset")
        self.next(self.train)

    @step
    def train(self):
        self.model = {"slope": self.alpha * 2, "n": len(self.data)}
        version = current.registry.register(
            "churn", self.model, metrics={"auc": 0.5 + self.alpha / 10}, tags={"team": "ml"}
        )
        print(f"registered {version.ref} from {version.pathspec}")
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    RegTrainFlow()
