"""A flow for the Runner API tests: typed parameters, output over time, a failure on demand.

``COUNTING_FAIL=1`` in the environment makes the end step raise (so a resume without it
succeeds); ``seconds`` makes the start step print one tick every 0.2 s.
"""

import os
import time

from flowkit import FlowSpec, JSONType, Parameter, step


class CountingFlow(FlowSpec):
    seconds = Parameter("seconds", default=0, help="ticks to print")
    ratio = Parameter("ratio", default=0.5, help="a float")
    loud = Parameter("loud", default=False, type=bool, help="a switch")
    config = Parameter("config", default={"k": 1}, type=JSONType, help="json")
    learning_rate = Parameter("learning-rate", default=0.1, help="a dashed name")

    @step
    def start(self):
        for i in range(self.seconds * 5):
            print(f"tick {i}", flush=True)
            time.sleep(0.2)
        self.echo = {
            "seconds": self.seconds,
            "ratio": self.ratio,
            "loud": self.loud,
            "config": self.config,
            "learning_rate": self.learning_rate,
        }
        self.next(self.end)

    @step
    def end(self):
        if os.environ.get("COUNTING_FAIL"):
            raise ValueError("asked to fail")
        self.done = True


if __name__ == "__main__":
    CountingFlow()
