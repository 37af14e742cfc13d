"""Episode 03, part 1: a small tuning run whose results we will inspect.

python tutorials/03-inspect/tune.py run
python tutorials/03-inspect/tune.py run --noise 0.3 --tag candidate
"""

from flowkit import FlowSpec, Parameter, current, step


class TuneFlow(FlowSpec):
    """Scores a few regularisation strengths and keeps the best one."""

    noise = Parameter("noise", default=0.1, help="how noisy the pretend data is")

    @step
    def start(self):
        """The strengths to try."""
        self.alphas = [0.01, 0.1, 1.0, 10.0]
        self.next(self.fit, foreach="alphas")

    @step
    def fit(self):
        """Pretend to fit a model: the score peaks at alpha = 1."""
        self.alpha = self.input
        distance = abs(self.alpha - 1.0) / (self.alpha + 1.0)
        self.score = round(1.0 - distance - self.noise * 0.1 * self.index, 4)
        print(f"alpha={self.alpha}: score {self.score}")
        self.next(self.pick)

    @step
    def pick(self, inputs):
        """Keep the best alpha and a small table of every score."""
        self.scores = {i.alpha: i.score for i in inputs}
        self.best_alpha = max(self.scores, key=self.scores.get)
        self.next(self.end)

    @step
    def end(self):
        """Say what won."""
        self.model = {"alpha": self.best_alpha, "score": self.scores[self.best_alpha]}
        print(f"{current.pathspec}: best alpha {self.best_alpha}")


if __name__ == "__main__":
    TuneFlow()
