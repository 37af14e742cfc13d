"""A foreach whose elements record every unpickling in ``FLOWKIT_TEST_TRACE/<pid>``."""

import os

from flowkit import FlowSpec, step


def load_probe(number):
    with open(os.path.join(os.environ["FLOWKIT_TEST_TRACE"], str(os.getpid())), "a") as out:
        out.write(f"{number}\n")
    return Probe(number)


class Probe:
    def __init__(self, number):
        self.number = number

    def __reduce__(self):
        return load_probe, (self.number,)


class ProbesFlow(FlowSpec):
    @step
    def start(self):
        self.items = [Probe(i) for i in range(12)]
        self.next(self.work, foreach="items")

    @step
    def work(self):
        self.number = self.input.number
        self.pid = os.getpid()
        self.next(self.join)

    @step
    def join(self, inputs):
        self.numbers = [i.number for i in inputs]
        self.pids = [i.pid for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ProbesFlow()
