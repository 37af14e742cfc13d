"""A branch, a foreach inside it and a large artifact; TEAM_FAIL=1 fails one foreach task."""

import os

from flowkit import FlowSpec, step


class TeamFlow(FlowSpec):
    @step
    def start(self):
        self.blob = bytes(range(256)) * 140_000  # 35 MB: a multipart upload on S3
        self.next(self.features, self.labels)

    @step
    def features(self):
        self.items = [1, 2, 3, 4]
        self.next(self.square, foreach="items")

    @step
    def square(self):
        if self.input == 3 and os.environ.get("TEAM_FAIL"):
            raise ValueError("planned failure on item 3")
        print(f"squaring {self.input}")
        self.value = self.input**2
        self.next(self.gather)

    @step
    def gather(self, inputs):
        self.squares = sorted(i.value for i in inputs)
        self.merge_artifacts(inputs, include=["blob"])
        self.next(self.join)

    @step
    def labels(self):
        self.label = "team"
        self.next(self.join)

    @step
    def join(self, inputs):
        self.squares = inputs.gather.squares
        self.label = inputs.labels.label
        self.merge_artifacts(inputs, include=["blob"])
        self.next(self.end)

    @step
    def end(self):
        self.result = {"squares": self.squares, "label": self.label, "blob": len(self.blob)}
        print("result", self.result)


if __name__ == "__main__":
    TeamFlow()
