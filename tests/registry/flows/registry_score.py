"""Uses whatever model is champion, from inside a step."""

import flowkit
from flowkit import FlowSpec, step


class RegScoreFlow(FlowSpec):
    @step
    def start(self):
        champion = flowkit.Model("churn@champion")
        self.used = champion.version.ref
        self.score = champion.load()["slope"] * 10
        print(f"scored with {self.used}: {self.score}")
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    RegScoreFlow()
