"""Steps that misbehave in ways decorators must handle: C-level sleep, self-termination."""

import ctypes
import os
import signal

from flowkit import FlowSpec, catch, retry, step, timeout


class CustomError(Exception):
    """Defined only in this file: a caught one must still be readable elsewhere."""


class StubbornFlow(FlowSpec):
    @step
    def start(self):
        self.mode = os.environ.get("STUBBORN_MODE", "c_sleep")
        self.next(self.risky)

    @catch(var="problem")
    @retry(times=2, minutes_between_retries=0)
    @timeout(seconds=1)
    @step
    def risky(self):
        print("risky attempt")
        if self.mode == "c_sleep":
            ctypes.CDLL(None).sleep(30)  # stuck in C: no Python signal handler can run
        elif self.mode == "sigterm":
            os.kill(os.getpid(), signal.SIGTERM)  # "killed by the user": never retried
        elif self.mode == "custom":
            raise CustomError("only this file knows this class")
        self.next(self.end)

    @step
    def end(self):
        self.problem_text = str(getattr(self, "problem", None))


if __name__ == "__main__":
    StubbornFlow()
