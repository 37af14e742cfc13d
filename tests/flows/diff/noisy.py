"""Deterministic data, then a "model" from unseeded randomness: reruns differ from ``train``."""

import random

from flowkit import FlowSpec, Parameter, step


class NoisyFlow(FlowSpec):
    size = Parameter("size", default=3, help="how many numbers")

    @step
    def start(self):
        self.data = list(range(self.size))
        self.next(self.train)

    @step
    def train(self):
        self.model = random.random()  # no seed: a new value every run
        self.next(self.end)

    @step
    def end(self):
        self.prediction = [x * self.model for x in self.data]


if __name__ == "__main__":
    NoisyFlow()
