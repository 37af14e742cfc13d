"""Episode 04: a run fails in one split of a foreach; fix it and resume.

python tutorials/04-resume/train.py run        # split 'c' fails
python tutorials/04-resume/train.py resume     # after the fix: only 'c' and what follows run
"""

import os
import time

from flowkit import FlowSpec, current, step


class ResumeTutorialFlow(FlowSpec):
    """Scores a few "models"; one of them is broken until you fix it."""

    @step
    def start(self):
        """Pick the models to train."""
        self.models = ["a", "b", "c", "d"]
        self.next(self.train, foreach="models")

    @step
    def train(self):
        """Pretend to train: slow, so you can see that resume does not redo it."""
        time.sleep(1)
        # The "bug": model c fails unless FIXED=1. In real life you would edit the code.
        if self.input == "c" and os.environ.get("FIXED") != "1":
            raise ValueError("model c diverged (learning rate too high)")
        self.model = self.input
        self.score = {"a": 0.71, "b": 0.64, "c": 0.82, "d": 0.58}[self.input]
        print(f"trained {self.input} in {current.pathspec}: {self.score}")
        self.next(self.pick)

    @step
    def pick(self, inputs):
        """Keep the best model."""
        self.best = max(inputs, key=lambda i: i.score).model
        self.next(self.end)

    @step
    def end(self):
        """Report, and say where this run came from."""
        print(f"best model: {self.best} (resumed from run {current.origin_run_id})")


if __name__ == "__main__":
    ResumeTutorialFlow()
