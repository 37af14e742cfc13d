"""Episode 03, part 2: a new flow that builds on the latest good run of another one.

python tutorials/03-inspect/report.py run
"""

from flowkit import Flow, FlowSpec, step


class ReportFlow(FlowSpec):
    """Reads TuneFlow's results through the client and writes a short report."""

    @step
    def start(self):
        """Find the latest successful tuning run (in the same datastore as this run)."""
        run = Flow("TuneFlow").latest_successful_run
        self.source = run.pathspec  # stored, so this report says where its numbers came from
        self.model = run.data.model
        self.scores = run["pick"].task.data.scores
        self.next(self.end)

    @step
    def end(self):
        """Print the report."""
        print(f"Report on {self.source}: best alpha {self.model['alpha']}")
        for alpha, score in sorted(self.scores.items()):
            print(f"  alpha {alpha:>5}: {score:.4f}")


if __name__ == "__main__":
    ReportFlow()
