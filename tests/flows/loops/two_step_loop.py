"""A loop through two steps: ``check`` goes back to ``body`` until the total is reached.

``FLOWKIT_TEST_FAIL_PASS=k`` makes pass ``k`` of ``body`` raise (for resume tests).
"""

import os

from flowkit import FlowSpec, Parameter, current, step


class TwoStepLoopFlow(FlowSpec):
    rounds = Parameter("rounds", default=5, help="passes of the loop")

    @step
    def start(self):
        self.total = 0
        self.history = []
        self.next(self.body)

    @step
    def body(self):
        if os.environ.get("FLOWKIT_TEST_FAIL_PASS") == str(len(self.history)):
            raise RuntimeError(f"planned failure in pass {len(self.history)}")
        self.total += 10
        self.history = [*self.history, current.task_id]
        self.next(self.check)

    @step
    def check(self):
        self.state = "again" if len(self.history) < self.rounds else "done"
        self.next({"again": self.body, "done": self.end}, condition="state")

    @step
    def end(self):
        self.result = {"total": self.total, "passes": len(self.history)}
        print("result", self.result)


if __name__ == "__main__":
    TwoStepLoopFlow()
