"""``train`` fails on 2 at every attempt; ``@retry`` tries it twice, then ``@catch`` stores the
exception and the flow goes on (tests/airflow)."""

from flowkit import FlowSpec, catch, retry, step


class CatchingFlow(FlowSpec):
    @step
    def start(self):
        self.xs = [1, 2, 3]
        self.next(self.train, foreach="xs")

    @catch(var="error")
    @retry(times=1, minutes_between_retries=0)
    @step
    def train(self):
        self.error = None
        if self.input == 2:
            raise ValueError("no good on 2")
        self.y = self.input * 10
        self.next(self.join)

    @step
    def join(self, inputs):
        self.ys = [getattr(i, "y", None) for i in inputs]
        self.errors = [str(i.error) if i.error else None for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        self.result = {"ys": self.ys, "errors": self.errors}


if __name__ == "__main__":
    CatchingFlow()
